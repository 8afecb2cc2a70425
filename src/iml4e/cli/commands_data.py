"""``iml4e data …``: collect, analyze, validate and version datasets."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.data.ingest import LoadedData

data_app = typer.Typer(
    name="data", help="Collect, analyze, validate and version datasets.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="csv, parquet or jsonl (default: from the source).")
]
DelimiterOption = Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")]
EncodingOption = Annotated[str | None, typer.Option(help="Text encoding (default: detected).")]
QueryOption = Annotated[str | None, typer.Option(help="SQL query, for a database URL source.")]
TableOption = Annotated[str | None, typer.Option(help="SQL table, for a database URL source.")]


def _connector_options(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


def _store(ctx: typer.Context):
    from iml4e.platform import initialize
    from iml4e.store import open_store

    settings = cli_state(ctx).resolve().settings
    initialize(settings)
    return settings, open_store(settings)


def _load(ctx: typer.Context, data: str, **options: Any) -> LoadedData:
    """A catalog version or a source, read with the connector options that were given."""
    from iml4e.data.ingest import load_data

    _, store = _store(ctx)
    try:
        return load_data(store, data, **_connector_options(**options))
    finally:
        store.close()


def _version_row(info: Any) -> dict[str, Any]:
    return {
        "name": info.name,
        "version": info.version,
        "content_hash": info.content_hash,
        "rows": info.n_rows,
        "columns": info.n_columns,
        "source": info.source,
        "created_at": info.created_at.isoformat(timespec="seconds"),
        "snapshot": info.snapshot_uri,
    }


@data_app.command()
def ingest(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="File, glob, database URL, http(s) URL or builtin:…")
    ],
    name: Annotated[str, typer.Option(help="Dataset name in the catalog.")],
    contract: Annotated[
        Path | None, typer.Option(help="Contract file the data must satisfy (default: inferred).")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Label column (for its balance).")] = None,
    description: Annotated[str, typer.Option(help="Description of a new dataset.")] = "",
    format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    query: QueryOption = None,
    table: TableOption = None,
    checksum: Annotated[
        str | None, typer.Option(help="Expected sha256:<hex> of a download.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Read a source, check it, and register it as the next version of a dataset."""
    from iml4e.data.ingest import ingest_dataset

    settings, store = _store(ctx)
    try:
        info = ingest_dataset(
            settings,
            store,
            source,
            name=name,
            description=description,
            contract=contract,
            target=target,
            **_connector_options(
                format=format,
                delimiter=delimiter,
                encoding=encoding,
                query=query,
                table=table,
                checksum=checksum,
            ),
        )
    finally:
        store.close()
    if json:
        print_json(_version_row(info))
        return
    console.print(
        f"{info.name}@{info.version}  {info.n_rows} rows x {info.n_columns} columns  "
        f"sha256 {info.content_hash[:16]}…"
    )


@data_app.command("list")
def list_versions(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
    json: JsonOption = False,
) -> None:
    """List dataset versions in the catalog."""
    from iml4e.data.catalog import list_dataset_versions

    _, store = _store(ctx)
    try:
        rows = [_version_row(info) for info in list_dataset_versions(store, name)]
    finally:
        store.close()
    if json:
        print_json(rows)
        return
    print_table(
        "datasets",
        ["dataset", "rows", "columns", "hash", "created", "source"],
        (
            (
                f"{r['name']}@{r['version']}",
                r["rows"],
                r["columns"],
                r["content_hash"][:12],
                r["created_at"],
                r["source"],
            )
            for r in rows
        ),
    )


@data_app.command()
def show(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
    json: JsonOption = False,
) -> None:
    """Show one dataset version: where it came from, its columns and their profile."""
    from iml4e.data.catalog import get_dataset_version
    from iml4e.data.ingest import parse_dataset_reference
    from iml4e.errors import BadInput

    parsed = parse_dataset_reference(reference)
    if parsed is None:
        raise BadInput("expected NAME or NAME@VERSION", where=reference)
    _, store = _store(ctx)
    try:
        info = get_dataset_version(store, *parsed)
    finally:
        store.close()
    if json:
        print_json(
            {
                **_version_row(info),
                "columns": info.columns,
                "profile": info.profile,
                "contract": info.contract,
            }
        )
        return
    row = _version_row(info)
    for key in ("name", "version", "content_hash", "rows", "source", "created_at", "snapshot"):
        console.print(f"{key:>12}  {row[key]}")
    profile_columns = (info.profile or {}).get("columns", {})
    print_table(
        "columns",
        ["column", "dtype", "kind", "missing", "distinct", "mean / top"],
        (
            (column, dtype, *_profile_cells(profile_columns.get(column)))
            for column, dtype in info.columns.items()
        ),
    )


OTHER_CATEGORIES = "__other__"  # the profile's bucket for categories beyond its limit


def _profile_cells(column: dict[str, Any] | None) -> tuple[Any, ...]:
    if not column:
        return ("", "", "", "")
    numeric = column.get("numeric") or {}
    categories = column.get("categories") or {}
    named = {key: count for key, count in categories.items() if key != OTHER_CATEGORIES}
    top = max(named, key=named.__getitem__) if named else ""
    mean = numeric.get("mean")
    return (
        column.get("kind"),
        column.get("missing"),
        column.get("distinct"),
        f"{mean:.4g}" if isinstance(mean, float) else top,
    )


@data_app.command()
def diff(
    ctx: typer.Context,
    before: Annotated[str, typer.Argument(help="NAME@A")],
    after: Annotated[str, typer.Argument(help="NAME@B (or just B)")],
    json: JsonOption = False,
) -> None:
    """Compare two versions: schema changes and each column's distribution shift."""
    from iml4e.data.catalog import get_dataset_version
    from iml4e.data.diff import diff_dataset_versions
    from iml4e.data.ingest import parse_dataset_reference
    from iml4e.errors import BadInput

    old = parse_dataset_reference(before)
    new = parse_dataset_reference(
        after if "@" in after or not after.isdigit() else f"{old[0] if old else ''}@{after}"
    )
    if old is None or new is None:
        raise BadInput("expected NAME@A NAME@B", where=f"{before} {after}")
    _, store = _store(ctx)
    try:
        result = diff_dataset_versions(
            get_dataset_version(store, *old), get_dataset_version(store, *new)
        )
    finally:
        store.close()
    if json:
        print_json(asdict(result))
        return
    console.print(
        f"{result.name}@{result.before} → @{result.after}: rows {result.rows_before}"
        f" → {result.rows_after}; same content: {result.same_content}"
    )
    if result.schema_changes:
        print_table(
            "schema changes",
            ["column", "change", "before", "after"],
            ((c.column, c.change, c.before, c.after) for c in result.schema_changes),
        )
    if result.shifts:
        print_table(
            "distribution shift",
            ["column", "kind", "PSI", "KS", "missing", "new", "shifted"],
            (
                (
                    s.column,
                    s.kind,
                    f"{s.psi:.3f}",
                    "" if s.ks is None else f"{s.ks:.3f}",
                    f"{s.missing_before:.1%} → {s.missing_after:.1%}",
                    ", ".join(s.new_categories),
                    "yes" if s.shifted else "",
                )
                for s in result.shifts
            ),
        )


@data_app.command()
def profile(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="A source (file, URL, builtin:…) or NAME[@VERSION].")],
    target: Annotated[str | None, typer.Option(help="Label column (for its balance).")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    query: QueryOption = None,
    table: TableOption = None,
    json: JsonOption = False,
) -> None:
    """Profile data: per-column statistics, histograms, categories, duplicates, correlations."""
    from iml4e.data.profile import profile_frame
    from iml4e.data.profile_html import render_profile_html

    loaded = _load(
        ctx, data, format=format, delimiter=delimiter, encoding=encoding, query=query, table=table
    )
    result = profile_frame(loaded.frame, target=target)
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_profile_html(result, title=loaded.label), encoding="utf-8")
    if json:
        print_json(result.to_dict())
        return
    console.print(
        f"{loaded.label}: {result.n_rows} rows x {result.n_columns} columns, "
        f"{result.duplicate_rows} duplicate rows"
    )
    print_table(
        "columns",
        ["column", "kind", "missing", "distinct", "mean / top"],
        ((name, *_profile_cells(column)) for name, column in result.to_dict()["columns"].items()),
    )
    if html is not None:
        console.print(f"report: {html}")


@data_app.command()
def validate(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="A source (file, URL, builtin:…) or NAME[@VERSION].")],
    contract: Annotated[
        Path | None,
        typer.Option("--contract", "--schema", help="Contract file (default: the version's own)."),
    ] = None,
    format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    query: QueryOption = None,
    table: TableOption = None,
    json: JsonOption = False,
) -> None:
    """Check data against a contract; exit 1 listing every violation."""
    from iml4e.data.contract_files import contract_from_yaml, load_contract
    from iml4e.data.contracts import validate_frame
    from iml4e.data.errors import ContractViolation
    from iml4e.data.quality import find_duplicate_rows
    from iml4e.errors import BadInput

    loaded = _load(
        ctx, data, format=format, delimiter=delimiter, encoding=encoding, query=query, table=table
    )
    if contract is not None:
        schema = load_contract(contract)
    elif loaded.version is not None and loaded.version.contract:
        schema = contract_from_yaml(loaded.version.contract, where=loaded.label)
    else:
        raise BadInput("give --contract FILE (only catalog versions carry their own)", where=data)
    duplicates = find_duplicate_rows(loaded.frame)
    try:
        validate_frame(loaded.frame, schema, source=loaded.label)
    except ContractViolation as violation:
        if json:
            print_json(
                {
                    "valid": False,
                    "source": loaded.label,
                    "duplicate_rows": duplicates.duplicate_rows,
                    "violations": [asdict(v) for v in violation.violations],
                }
            )
            raise typer.Exit(1) from None
        raise
    if json:
        print_json(
            {
                "valid": True,
                "source": loaded.label,
                "duplicate_rows": duplicates.duplicate_rows,
                "violations": [],
            }
        )
        return
    console.print(
        f"{loaded.label}: contract holds ({len(loaded.frame)} rows; "
        f"{duplicates.duplicate_rows} duplicate rows)"
    )


@data_app.command("infer-contract")
def infer_contract_command(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="A source (file, URL, builtin:…) or NAME[@VERSION].")],
    out: Annotated[Path, typer.Option(help="Where to write the contract (YAML).")],
    optional: Annotated[
        list[str] | None, typer.Option(help="A column that may be absent (repeatable).")
    ] = None,
    max_categories: Annotated[
        int, typer.Option(min=1, help="Most distinct values listed as allowed categories.")
    ] = 50,
) -> None:
    """Infer a contract (dtypes, nullability, ranges, categories) and save it for editing."""
    from iml4e.data.contract_files import infer_contract, save_contract

    loaded = _load(ctx, data)
    schema = infer_contract(
        loaded.frame, name=out.stem, max_categories=max_categories, optional=tuple(optional or ())
    )
    console.print(f"contract for {loaded.label} written to {save_contract(schema, out)}")


@data_app.command()
def overlap(
    ctx: typer.Context,
    train: Annotated[str, typer.Argument(help="Training data: source or NAME[@VERSION].")],
    test: Annotated[str, typer.Argument(help="Test data: source or NAME[@VERSION].")],
    column: Annotated[
        list[str] | None, typer.Option(help="Compare only these columns (repeatable).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Find test rows that also occur in the training data (leakage); exit 1 if any."""
    from iml4e.data.quality import find_train_test_overlap

    train_data, test_data = _load(ctx, train), _load(ctx, test)
    report = find_train_test_overlap(train_data.frame, test_data.frame, columns=column or None)
    if json:
        print_json(asdict(report))
    else:
        console.print(
            f"{report.overlapping_rows} of {len(test_data.frame)} test rows "
            f"({report.share_of_test:.1%}) also occur in {train_data.label}"
        )
    if report.overlapping_rows:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the root command."""
    app.add_typer(data_app)
