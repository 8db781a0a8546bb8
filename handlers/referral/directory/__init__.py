"""The referral directory as an Open Referral HSDS 3 package: import, export and search;
callers use what is re-exported here, and each module does one part of the work."""

from handlers.referral.directory.exporting import export_package
from handlers.referral.directory.importing import ImportReport, import_package
from handlers.referral.directory.validating import DirectoryImportError, ImportError_

__all__ = [
    "DirectoryImportError",
    "ImportError_",
    "ImportReport",
    "export_package",
    "import_package",
]
