"""Lower bound on the cost of the 15 paper proxies, in plain forward+backward passes.

``bench_proxy_speed.py`` times what saswot does. This benchmark times the passes that any
implementation of the same definitions (``docs/proxies.md``) has to run, written as bare torch
calls with nothing else: no statistics hooks, no NWOT kernel, no private copy, no per-weight
reductions, no overflow handling. For each of ``--archs`` seeded TransNAS-Bench-101
architectures, on the same network and batch as the speed benchmark:

* ``fb``: one plain forward + backward (pixel-wise CE, train mode): the unit;
* ``grad+hvp+jac``: one forward, the weight gradient with ``create_graph=True`` (grasp needs
  it), the input gradient of the summed logits (jacov, epe_nas) over the same graph, and the
  Hessian-gradient product by double backward (grasp). This covers every gradient-based proxy
  (snip, grad_norm, fisher, plain, saswot_minus read the same gradient; nwot the same forward);
* ``zen``: the two no-grad train-mode forwards that Zen-score compares, with N(0, 1) weights
  drawn beforehand; ``zen draw`` times the draw itself (saswot's parallel per-layer draw,
  :func:`saswot.proxies.measures.zen.gaussian_tensors`) and is reported apart;
* ``synflow``: one forward + weight backward at batch 1 with |W| and BatchNorm in eval mode,
  float32, no overflow handling.

``floor`` is the sum of ``grad+hvp+jac``, ``zen`` and ``synflow``: no implementation built from
torch's operators can score the 15 proxies in fewer passes than this (``floor+draw`` adds the
Gaussian draw, which zen's definition needs too), and ``actual`` (one ``score_network`` call) is
printed beside it. Every part is the median of ``--reps`` runs after one warm-up run.

``--compare-hvp`` also times the other exact way to get grasp's Hessian-vector product,
forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``, Pearlmutter's R-operator),
against the double backward used above, each as forward + gradient + Hvp. Example::

    SASWOT_DATA=/work/shared/data .venv/bin/python benchmarks/bench_proxy_floor.py \
        --space micro --archs 10 --out benchmarks/out/proxy_floor_micro.json
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from saswot.runtime.allocator import tune_malloc
from saswot.utils.io import write_json
from saswot.runtime.progress import track
from saswot.proxies import resolve_proxies, score_network
from saswot.proxies.measures.zen import gaussian_tensors
from saswot.proxies._stats import main_output, prepare_copy, seg_loss
from saswot.utils.tables import print_table
from saswot.spaces.tnb101.builder import build_network

from proxy_bench_setup import forward_backward, load_proxy_bench  # benchmarks/

#: The proxies of the paper's Table 3 (issue #3), timed together by ``actual``.
PAPER_PROXIES = (
    "fisher,flops,grad_norm,grasp,epe_nas,jacov,nwot,params,snip,synflow,zen,l2_norm,plain,saswot_minus,saswot"
)


def _median_time(fn: Callable[[], object], reps: int) -> float:
    """Median seconds of ``reps`` calls of ``fn`` after one untimed call."""
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _weights(net: nn.Module) -> list[Tensor]:
    return [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _grad_hvp_jac(net: nn.Module, x: Tensor, y: Tensor) -> None:
    weights = _weights(net)
    xg = x.clone().requires_grad_(True)
    out = main_output(net(xg))
    grads = torch.autograd.grad(seg_loss(out, y), weights, create_graph=True, retain_graph=True, allow_unused=True)
    torch.autograd.grad(out.sum(), xg, retain_graph=True)
    z = torch.stack([(g * g.detach()).sum() for g in grads if g is not None]).sum()
    torch.autograd.grad(z, weights, allow_unused=True)


def _gaussian(net: nn.Module) -> dict[str, Tensor]:
    """N(0, 1) conv/linear weights (zen's initialisation; drawn outside the timed part)."""
    return {
        n + ".weight": torch.randn_like(m.weight)
        for n, m in net.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d))
    }


def _zen(net: nn.Module, tensors: dict[str, Tensor], x: Tensor) -> None:
    with torch.no_grad():
        functional_call(net, tensors, (x,))
        functional_call(net, tensors, (x + 0.01,))


def _synflow(net: nn.Module, x: Tensor) -> None:
    weights = {n: p.detach().abs().requires_grad_(True) for n, p in net.named_parameters()}
    conv = [n + ".weight" for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    out = main_output(functional_call(net, weights, (torch.ones(1, *x.shape[1:]),)))
    grads = torch.autograd.grad(out.sum(), [weights[n] for n in conv], allow_unused=True)
    del grads


def _hvp_double_backward(net: nn.Module, x: Tensor, y: Tensor, g: tuple[Tensor, ...]) -> None:
    weights = _weights(net)
    grads = torch.autograd.grad(seg_loss(main_output(net(x)), y), weights, create_graph=True)
    torch.autograd.grad(torch.stack([(a * b).sum() for a, b in zip(grads, g)]).sum(), weights)


def _hvp_forward_over_reverse(net: nn.Module, x: Tensor, y: Tensor, g: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    names = [n + ".weight" for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    params = dict(net.named_parameters())

    def loss_of(weights: tuple[Tensor, ...]) -> Tensor:
        tensors: dict[str, Tensor] = dict(zip(names, weights))
        tensors.update({k: v.clone() for k, v in net.named_buffers()})  # BN statistics: not captured
        return seg_loss(main_output(functional_call(net, tensors, (x,))), y)

    _, hv = torch.func.jvp(torch.func.grad(loss_of), (tuple(params[n] for n in names),), (g,))
    return hv


def _compare_hvp(model: nn.Module, x: Tensor, y: Tensor, reps: int) -> dict[str, float]:
    """Seconds of fwd + gradient + Hessian-vector product by double backward and by
    forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), and their max relative gap."""
    net = prepare_copy(model)
    g = tuple(t.detach() for t in torch.autograd.grad(seg_loss(main_output(net(x)), y), _weights(net)))
    fwd_rev = _hvp_forward_over_reverse(net, x, y, g)
    weights = _weights(net)
    grads = torch.autograd.grad(seg_loss(main_output(net(x)), y), weights, create_graph=True)
    dbl = torch.autograd.grad(torch.stack([(a * b).sum() for a, b in zip(grads, g)]).sum(), weights)
    gap = max(float((u - v).abs().max() / v.abs().max().clamp_min(1e-30)) for u, v in zip(fwd_rev, dbl))
    return {
        "double_backward_s": _median_time(lambda: _hvp_double_backward(net, x, y, g), reps),
        "forward_over_reverse_s": _median_time(lambda: _hvp_forward_over_reverse(net, x, y, g), reps),
        "max_rel_gap": gap,
    }


def _measure(model: nn.Module, x: Tensor, y: Tensor, reps: int) -> dict[str, float]:
    net = prepare_copy(model)
    parts = {"fb": _median_time(lambda: forward_backward(net, x, y), reps)}
    parts["grad+hvp+jac"] = _median_time(lambda: _grad_hvp_jac(net, x, y), reps)
    workers = torch.get_num_threads()
    parts["zen draw"] = _median_time(lambda: gaussian_tensors(net, 0, model, workers), reps)
    gaussian = _gaussian(net)
    parts["zen"] = _median_time(lambda: _zen(net, gaussian, x), reps)
    del gaussian
    net.eval()  # synflow: BatchNorm with its (initial) running statistics, close to the identity
    parts["synflow"] = _median_time(lambda: _synflow(net, x), reps)
    net.train()
    parts["fb_after"] = _median_time(lambda: forward_backward(net, x, y), reps)
    return parts


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", choices=["micro", "macro"], default="micro")
    ap.add_argument("--archs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-root", default=None)
    ap.add_argument(
        "--compare-hvp", action="store_true",
        help="also time grasp's Hessian-vector product by forward-over-reverse (torch.func) against double backward",
    )
    ap.add_argument("--out", default="benchmarks/out/proxy_floor.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_malloc()  # as the saswot command does

    setup = load_proxy_bench(args.space, args.archs, args.seed, args.batch_size, args.resolution, args.data_root)
    archs, source, x, y, avt = setup.archs, setup.source, setup.images, setup.labels, setup.avt
    names = [s.name for s in resolve_proxies(PAPER_PROXIES)]
    gc.freeze()  # long-lived objects skipped while a network is scored, as in saswot.runtime.allocator.collect_on_exit
    records, rows = [], []
    for arch in track(archs, description=f"floor {args.space}"):
        model = build_network(arch, 17, seed=args.seed)
        parts = _measure(model, x, y, args.reps)
        actual = _median_time(lambda: score_network(model, x, y, names, num_classes=17, avt=avt), args.reps)
        fb = statistics.median([parts["fb"], parts["fb_after"]])
        rel = {k: parts[k] / fb for k in ("grad+hvp+jac", "zen", "synflow")}
        floor = sum(rel.values())
        rel["zen draw"] = parts["zen draw"] / fb
        rec = {"arch": arch.key, "fb_s": fb, "parts_s": parts, "parts_fb": rel, "floor_fb": floor,
               "floor_with_draw_fb": floor + rel["zen draw"], "actual_s": actual, "actual_fb": actual / fb}
        if args.compare_hvp:
            hvp = _compare_hvp(model, x, y, args.reps)
            rec["hvp"] = {**hvp, "double_backward_fb": hvp["double_backward_s"] / fb,
                          "forward_over_reverse_fb": hvp["forward_over_reverse_s"] / fb}
        records.append(rec)
        rows.append([str(arch.key), fb, rel["grad+hvp+jac"], rel["zen"], rel["synflow"], rec["floor_fb"], rel["zen draw"],
                     rec["floor_with_draw_fb"], rec["actual_fb"]])
    summary = {
        "space": args.space, "batch_size": args.batch_size, "resolution": args.resolution, "data": source,
        "threads": args.threads, "proxies": names, "archs": records,
        "median_floor_fb": statistics.median(r["floor_fb"] for r in records),
        "min_floor_fb": min(r["floor_fb"] for r in records),
        "median_floor_with_draw_fb": statistics.median(r["floor_with_draw_fb"] for r in records),
        "median_actual_fb": statistics.median(r["actual_fb"] for r in records),
        "median_parts_fb": {k: statistics.median(r["parts_fb"][k] for r in records) for k in records[0]["parts_fb"]},
    }
    if args.compare_hvp:
        summary["median_hvp_fb"] = {
            k: statistics.median(r["hvp"][k] for r in records) for k in ("double_backward_fb", "forward_over_reverse_fb")
        }
        summary["max_hvp_rel_gap"] = max(r["hvp"]["max_rel_gap"] for r in records)
        print_table(
            "grasp's Hessian-vector product (forward + gradient + Hvp), in forward+backward passes",
            ["arch", "double backward", "forward-over-reverse", "max rel gap"],
            [[str(r["arch"]), r["hvp"]["double_backward_fb"], r["hvp"]["forward_over_reverse_fb"], r["hvp"]["max_rel_gap"]]
             for r in records],
        )
    write_json(args.out, summary)
    print_table(
        f"{args.space}: lower bound vs saswot, in forward+backward passes (batch {args.batch_size}, {args.resolution}px, "
        f"{args.threads} threads)",
        ["arch", "fwd+bwd s", "grad+hvp+jac", "zen", "synflow", "floor", "zen draw", "floor+draw", "actual"],
        rows,
    )
    print(
        f"median floor {summary['median_floor_fb']:.2f}x (min {summary['min_floor_fb']:.2f}x), "
        f"{summary['median_floor_with_draw_fb']:.2f}x with zen's draw; "
        f"median actual {summary['median_actual_fb']:.2f}x -> {args.out}"
    )


if __name__ == "__main__":
    main()
