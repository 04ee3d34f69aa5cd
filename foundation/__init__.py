"""Small leaf modules every package may import; they import none of the project's own packages.

Import the modules themselves (`foundation.bounded`, `foundation.recursion`, ...): this file stays
empty so that using one piece never loads the others.
"""
