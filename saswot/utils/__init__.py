"""Small helpers with no domain knowledge: atomic JSON/text files, data and cache paths, downloads,
model references, parameter/MAC counting, rank correlations, tables, plots and weight initialisation.
"""
