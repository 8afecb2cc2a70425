"""The data room: synthetic and bundled datasets, data contracts, and the dataset catalog.

Importing this package is cheap: scikit-learn (bundled datasets) and pandera (contracts) are
imported only when a function that needs them is called.
"""

from iml4e.data.bundled import BUNDLED_DATASETS, WINE_FEATURES, bundled_dataset, wine
from iml4e.data.catalog import (
    DatasetVersionInfo,
    content_hash,
    get_dataset_version,
    list_dataset_versions,
    register_dataset_version,
)
from iml4e.data.contracts import credit_application_schema, validate_frame, wine_schema
from iml4e.data.errors import (
    ContractViolation,
    DataError,
    DatasetNotFound,
    InvalidArgument,
    UnknownDataset,
    Violation,
)
from iml4e.data.resample import resample_with_drift
from iml4e.data.synthetic import (
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
    credit_applications,
)

__all__ = [
    "BUNDLED_DATASETS",
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "TARGET",
    "WINE_FEATURES",
    "ContractViolation",
    "DataError",
    "DatasetNotFound",
    "DatasetVersionInfo",
    "InvalidArgument",
    "UnknownDataset",
    "Violation",
    "bundled_dataset",
    "content_hash",
    "credit_application_schema",
    "credit_applications",
    "get_dataset_version",
    "list_dataset_versions",
    "register_dataset_version",
    "resample_with_drift",
    "validate_frame",
    "wine",
    "wine_schema",
]
