"""What running a workflow job needs beside :mod:`qtrain.io`: provenance records checked against
the config and the content of their results (:mod:`.provenance`, :mod:`.startup`) and locks that
keep two live processes from writing the same job's outputs (:mod:`.locks`).

(Issue 22 moves the rest of :mod:`qtrain.io` here; :mod:`qtrain.io` re-exports what it needs.)
"""
