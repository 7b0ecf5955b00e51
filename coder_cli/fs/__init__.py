"""Files on disk: text read and written back byte for byte, atomic writes inside the repository, the undo journal."""
