"""The artifact store: blobs by sha256 behind one interface (`blobs.BlobStore`), a local folder
(`local`), object storage (`remote`, the s3 extra), a local cache of remote blobs (`cached`),
which store a setting names (`open`), and what is done with them: store, pull, verify, gc
(`vault`)."""

from modeltrail.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "blobs": "BlobStore copy_hashing",
        "local": "LocalStore",
        "open": "open_store",
        "vault": "store_path pull verify_artifact verify_data collect_garbage",
    },
)
