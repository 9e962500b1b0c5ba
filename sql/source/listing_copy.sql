copy catalog_listing (path, size_bytes, mtime_ns, ctime_ns, inode) from stdin with (format csv)
