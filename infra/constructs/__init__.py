"""One construct per capability: api, function, storage, keys, monitoring."""
