"""Repository context: files, tree-sitter tags, cache, ranked repo map, lookups."""
