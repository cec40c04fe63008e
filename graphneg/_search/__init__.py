"""The search kernels: a private layer below :mod:`graphneg.similarity` and :mod:`graphneg.negatives`.

No stable API: the public searches are :func:`graphneg.knn_search`, :func:`graphneg.knn_graph`
and :func:`graphneg.mine_hard_negatives`, which check their inputs and hand them here once.

- :mod:`._query`: a checked kNN search, run one way (prepare, kernel, similarities);
- :mod:`._prepare`: the arrays the kernels rank (unit, centred or rescaled rows);
- :mod:`._cpu_route`: which exact CPU kernel runs (CPU flags, ``$GRAPHNEG_CPU_ROUTE``);
- :mod:`._exact`: the exact search on CPU tiles or torch blocks;
- :mod:`._blocks`: row blocks scored tile by tile on worker threads;
- :mod:`._tiled`: the row-wise top-k of one block over cache-resident tiles;
- :mod:`._canonical`: the canonical scores and order every exact route ends in, error bounds;
- :mod:`._torch_blocks`: full-width torch blocks (GPU) and their canonical finish;
- :mod:`._ivf`: the inverted file on those kernels;
- :mod:`._ivf_scan`: its list scan (list blocks on worker threads, merged in list order);
- :mod:`._ivf_kernels`: the scan's compiled selection and merge (numba);
- :mod:`._approximate`: faiss and pynndescent;
- :mod:`._recall`: recall of an approximate search, the adaptive ``nprobe``;
- :mod:`._reports`: :class:`~graphneg.SearchReport` and :func:`~graphneg.record_searches`.
"""
