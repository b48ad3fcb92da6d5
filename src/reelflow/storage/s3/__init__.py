"""The S3-compatible backend (AWS S3, MinIO, COS, ...): needs the ``s3`` extra."""
