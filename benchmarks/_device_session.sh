# Sourced by the scripts of a lent-GPU call (gpu_session.sh, gpu_ground_truth.sh): where what
# comes back goes (RET, default: $OUT, the device tool's return folder), the session log in it,
# the start time T0, and a `python` that is the device machine's python3 (SHIM, removed on exit).
RET=${RET:-${OUT:?set RET or OUT}}
export -n OUT
unset OUT
mkdir -p "$RET"
exec > >(tee -a "$RET/session.log") 2>&1
T0=$(date +%s)
# python3 is the interpreter with torch there; `python` and the saswot CLI point at it
SHIM=$(mktemp -d)
trap 'rm -rf "$SHIM"' EXIT
ln -s "$(command -v python3)" "$SHIM/python"
export PATH=$SHIM:$PATH
