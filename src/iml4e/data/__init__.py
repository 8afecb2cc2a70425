"""The data room: collect, analyze, validate and version datasets.

Importing this package is cheap: scikit-learn (bundled datasets), pandera (contracts), the
connectors' clients and Jinja2 (reports) are imported only when a function needs them.
"""

from iml4e.data.bundled import BUNDLED_DATASETS, WINE_FEATURES, bundled_dataset, wine
from iml4e.data.catalog import (
    DatasetVersionInfo,
    content_hash,
    get_dataset_version,
    list_dataset_versions,
    read_dataset_version,
    register_dataset_version,
)
from iml4e.data.connectors import Connector, open_source, read_source
from iml4e.data.contract_files import infer_contract, load_contract, save_contract
from iml4e.data.contracts import credit_application_schema, validate_frame, wine_schema
from iml4e.data.diff import DatasetDiff, diff_dataset_versions
from iml4e.data.errors import (
    ContractFileError,
    ContractViolation,
    DataError,
    DatasetNotFound,
    DataSourceError,
    InvalidArgument,
    UnknownDataset,
    Violation,
)
from iml4e.data.ingest import ingest_dataset, load_data, register_frame
from iml4e.data.iot import iot_sensor_readings
from iml4e.data.profile import DatasetProfile, profile_frame
from iml4e.data.quality import find_duplicate_rows, find_train_test_overlap
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
    "Connector",
    "ContractFileError",
    "ContractViolation",
    "DataError",
    "DataSourceError",
    "DatasetDiff",
    "DatasetNotFound",
    "DatasetProfile",
    "DatasetVersionInfo",
    "InvalidArgument",
    "UnknownDataset",
    "Violation",
    "bundled_dataset",
    "content_hash",
    "credit_application_schema",
    "credit_applications",
    "diff_dataset_versions",
    "find_duplicate_rows",
    "find_train_test_overlap",
    "get_dataset_version",
    "infer_contract",
    "ingest_dataset",
    "iot_sensor_readings",
    "list_dataset_versions",
    "load_contract",
    "load_data",
    "open_source",
    "profile_frame",
    "read_dataset_version",
    "read_source",
    "register_dataset_version",
    "register_frame",
    "resample_with_drift",
    "save_contract",
    "validate_frame",
    "wine",
    "wine_schema",
]
