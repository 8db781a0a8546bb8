"""The referral directory as an Open Referral HSDS 3 package: import, export and search.

Callers use what is re-exported here; the modules each do one part of the work."""

from handlers.referral.directory.io import (
    DirectoryImportError,
    ImportError_,
    ImportReport,
    export_package,
    import_package,
)

__all__ = [
    "DirectoryImportError",
    "ImportError_",
    "ImportReport",
    "export_package",
    "import_package",
]
