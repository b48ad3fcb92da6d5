"""The local-folder backend: a bucket is a folder of files, written atomically."""
