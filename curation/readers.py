"""Read a source's raw records and normalise them into documents of its kind (docs/formats.md).

One reader step per source: it shards the input files (or dataset rows) across datatrove tasks, turns
every record into a `Document` (mono text, a zh–en pair, or a conversation as role/content messages)
and counts what it read. A record that cannot be read (malformed JSON, invalid UTF-8, a missing or
mistyped field, an unknown conversation schema) is never dropped silently: with
`curation.bad_records: exclude` it goes to `excluded/<source>/read/` with its file, line and reason;
with `error` the run stops with a message naming the file and line. Every record is numbered by the
1-based line of the file it starts on (CSV/TSV: the header is line 1; parquet and datasets: the row), and
a document without an id is named `<source>/<file>/<that number>`, so no two records share an id.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import open_file
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter

from common.sources import MonoSource, ParallelSource, Source

# a line with its end (\r\n, \r or \n), as the csv module splits them; the last one may have no end
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
csv.field_size_limit(2**31 - 1)  # a document in one cell may be larger than the module's 128 KiB default

ROLE_ALIASES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
}


class BadRecord(Exception):
    """A record that cannot become a document; `reason` is a short machine-readable label."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class BadInputError(ValueError):
    """Raised under `bad_records: error`: names the file, the line and what is wrong."""


def record_to_document(source: Source, record: Any, fallback_id: str) -> Document:
    """Normalise one raw record into a Document of the source's kind, or raise BadRecord."""
    if not isinstance(record, dict):
        raise BadRecord("not_an_object", f"expected a JSON object, got {type(record).__name__}")
    raw_id = record.get(source.id_field) if source.id_field else None
    doc_id = f"{source.name}/{raw_id}" if isinstance(raw_id, (str, int)) and raw_id != "" else fallback_id
    metadata: dict[str, Any] = {"source": source.name, "kind": source.kind}
    if isinstance(source, MonoSource):
        text = _field(record, source.text_field)
        extra = {k: v for k, v in record.items() if k not in (source.text_field, source.id_field)}
        metadata.update({k: v for k, v in extra.items() if _json_scalar(v)})
        metadata["language"] = source.language
    elif isinstance(source, ParallelSource):
        zh, en = _field(record, source.zh_field), _field(record, source.en_field)
        metadata.update({"language": "zh-en", "zh": zh, "en": en})
        text = pair_text(zh, en)
    else:
        messages = to_messages(record, source.schema_)
        metadata.update({"language": source.language, "messages": messages})
        text = conversation_text(messages)
    return Document(text=text, id=doc_id, metadata=metadata)


def pair_text(zh: str, en: str) -> str:
    return f"{zh}\n{en}"


def conversation_text(messages: list[dict[str, str]]) -> str:
    return "\n\n".join(m["content"] for m in messages)


def _json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _field(record: dict, name: str) -> str:
    """A string field; `a.b` reaches into nested objects (e.g. `translation.zh` in OPUS-style datasets)."""
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            fields = ", ".join(map(str, record)) or "none"
            raise BadRecord(f"missing_field:{name}", f"no field '{name}' (fields: {fields})")
        value = value[part]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRecord(f"wrong_type:{name}", f"field '{name}' is {type(value).__name__}, expected a string")
    return value


def to_messages(record: dict, schema: str) -> list[dict[str, str]]:
    """alpaca / sharegpt / role-content records -> [{"role", "content"}] with roles system|user|assistant."""
    if schema == "auto":
        if "messages" in record:
            schema = "messages"
        elif "conversations" in record:
            schema = "sharegpt"
        elif "instruction" in record:
            schema = "alpaca"
        else:
            raise BadRecord("unknown_schema", "no 'messages', 'conversations' or 'instruction' field")
    if schema == "alpaca":
        instruction = _field(record, "instruction")
        extra_input = _field(record, "input") if "input" in record else ""
        output = _field(record, "output")
        prompt = f"{instruction}\n\n{extra_input}" if extra_input.strip() else instruction
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]
        if isinstance(record.get("system"), str) and record["system"].strip():
            messages.insert(0, {"role": "system", "content": record["system"]})
        return messages
    key, role_key, content_key = (
        ("conversations", "from", "value") if schema == "sharegpt" else ("messages", "role", "content")
    )
    turns = record.get(key)
    if not isinstance(turns, list):
        raise BadRecord(f"missing_field:{key}", f"'{key}' must be a list of turns")
    messages = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise BadRecord(f"wrong_type:{key}", f"turn {i} is not an object")
        role = ROLE_ALIASES.get(str(turn.get(role_key, "")).lower())
        if role is None:
            raise BadRecord("unknown_role", f"turn {i} has role {turn.get(role_key)!r}")
        content = turn.get(content_key)
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise BadRecord(f"wrong_type:{content_key}", f"turn {i} content is {type(content).__name__}")
        messages.append({"role": role, "content": content})
    return messages


class SourceReader(PipelineStep):
    """Reads one source (local files or a Hugging Face dataset) as normalised Documents."""

    name = "📖 Source reader"
    type = "📖 - READER"
    excluded_name = "read"  # records that cannot be read (malformed JSON, invalid UTF-8, a missing field)

    def __init__(self, source: Source, bad_records: str = "exclude", exclusion_writer: DiskWriter | None = None):
        super().__init__()
        self.source = source
        self.bad_records = bad_records
        self.exclusion_writer = exclusion_writer

    # -- records -----------------------------------------------------------------------------------
    def _records(self, rank: int, world_size: int) -> Iterator[tuple[str, int, Any, str | None]]:
        """(file, 1-based record number, record or None, error reason or None) for this task's share."""
        spec = self.source.input
        if spec.format in ("hf_disk", "hf_hub"):
            yield from self._dataset_records(rank, world_size)
            return
        files = spec.files()
        if not files and rank == 0:
            raise BadInputError(f"{spec.path}: no input files found (format {spec.format}, glob {spec.glob or 'default'})")
        for file in files[rank::world_size]:
            count = 0
            reader = {"jsonl": self._jsonl, "parquet": self._parquet, "tsv": self._delimited, "csv": self._delimited}
            for item in reader[spec.format](file):
                count += 1
                yield item
            if count == 0:
                yield str(file), 0, None, "empty_file"

    def _jsonl(self, file: Path) -> Iterator[tuple[str, int, Any, str | None]]:
        with open_file(str(file), mode="rb", compression="infer") as compressed, io.BufferedReader(compressed) as f:
            for lineno, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    yield str(file), lineno, raw.decode("utf-8", errors="replace"), f"invalid_utf8:{err.reason}"
                    continue
                try:
                    yield str(file), lineno, orjson.loads(line), None
                except orjson.JSONDecodeError as err:
                    yield str(file), lineno, line, f"malformed_json:{err}"

    def _parquet(self, file: Path) -> Iterator[tuple[str, int, Any, str | None]]:
        import pyarrow.parquet as pq

        row = 0
        for batch in pq.ParquetFile(file).iter_batches(batch_size=1000):
            for record in batch.to_pylist():
                row += 1
                yield str(file), row, record, None

    def _delimited(self, file: Path) -> Iterator[tuple[str, int, Any, str | None]]:
        """CSV/TSV rows, each numbered by the file line it starts on (the header is line 1), as JSON lines are.

        The file is decoded line by line: a row with invalid UTF-8 in any of its lines is set aside as
        `invalid_utf8` (every such row, not only the first), and the rows after it keep their own line numbers.
        Bytes that are not UTF-8 never contain the ASCII quotes, delimiters and newlines, so decoding the
        bad lines with replacement characters keeps the rows' structure for the csv parser."""
        spec = self.source.input
        delimiter = spec.delimiter or ("\t" if spec.format == "tsv" else ",")
        with open_file(str(file), mode="rb", compression="infer") as f:
            data = f.read()
        if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark (Excel's "CSV UTF-8")
            data = data[3:]
        numbers: list[int] = []  # physical line number of every line handed to the csv parser, in order
        bad_lines: dict[int, str] = {}  # line number -> why it is not UTF-8

        def lines() -> Iterator[str]:
            for number, raw in enumerate(_LINE.findall(data), start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    bad_lines[number] = f"{err.reason} at byte {err.start} of the line"
                    line = raw.decode("utf-8", errors="replace")
                numbers.append(number)
                yield line

        quoting = csv.QUOTE_NONE if spec.format == "tsv" else csv.QUOTE_MINIMAL
        reader = csv.reader(lines(), delimiter=delimiter, quoting=quoting)
        header = spec.columns
        consumed = 0  # lines the parser had read before the current row
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:  # e.g. a field over the size limit: this row is bad, the parser goes on
                start = numbers[consumed] if consumed < len(numbers) else reader.line_num
                consumed = reader.line_num
                yield str(file), start, "", f"malformed_csv:{err}"
                continue
            first, consumed = consumed, reader.line_num
            start = numbers[first] if first < len(numbers) else consumed
            bad = [bad_lines[n] for n in numbers[first:consumed] if n in bad_lines]
            if header is None:
                header = row
                if bad:
                    yield str(file), start, delimiter.join(row), f"invalid_utf8:in the header line ({bad[0]})"
                continue
            if not row or all(not cell for cell in row):
                continue
            if bad:
                yield str(file), start, delimiter.join(row), f"invalid_utf8:{bad[0]}"
                continue
            if len(row) != len(header):
                yield str(file), start, delimiter.join(row), f"wrong_column_count:{len(row)} columns, header has {len(header)}"
                continue
            yield str(file), start, dict(zip(header, row, strict=True)), None

    def _dataset_records(self, rank: int, world_size: int) -> Iterator[tuple[str, int, Any, str | None]]:
        spec = self.source.input
        if spec.format == "hf_disk":
            from datasets import DatasetDict, load_from_disk

            dataset = load_from_disk(str(spec.path))
            if isinstance(dataset, DatasetDict):
                if spec.split not in dataset:
                    raise BadInputError(f"{spec.path}: no split '{spec.split}' (has {', '.join(dataset)})")
                dataset = dataset[spec.split]
            where = str(spec.path)
            shard = dataset.shard(num_shards=world_size, index=rank, contiguous=True)
            offset = sum(len(dataset) // world_size + (1 if i < len(dataset) % world_size else 0) for i in range(rank))
        else:
            from datasets import load_dataset
            from datasets.distributed import split_dataset_by_node

            dataset = load_dataset(spec.hub, spec.subset, split=spec.split, streaming=True)
            shard = split_dataset_by_node(dataset, rank=rank, world_size=world_size)
            where, offset = f"hf://{spec.hub}", 0
        for i, record in enumerate(shard, start=1):
            yield where, offset + i, record, None

    # -- pipeline ----------------------------------------------------------------------------------
    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        limit = self.source.input.limit
        writer = self.exclusion_writer
        if writer is not None:
            writer.__enter__()
        try:
            n = 0
            for file, lineno, record, error in self._records(rank, world_size):
                fallback_id = f"{self.source.name}/{Path(file).name}/{lineno}"
                doc = None
                if error is None:
                    try:
                        doc = record_to_document(self.source, record, fallback_id)
                    except BadRecord as bad:
                        error = f"{bad.reason}" + (f" ({bad.detail})" if bad.detail else "")
                if doc is None:
                    raw = record if isinstance(record, str) else (orjson.dumps(record).decode() if record is not None else "")
                    self._count(raw)
                    self._bad(file, lineno, raw, error, fallback_id, writer, rank)
                else:
                    self._count(doc.text)
                    yield doc
                n += 1
                if limit != -1 and n >= limit:
                    break
        finally:
            if writer is not None:
                writer.__exit__(None, None, None)

    def _count(self, text: str) -> None:
        self.stat_update("read_docs")
        self.stat_update("read_chars", value=len(text))
        self.stat_update("read_bytes", value=len(text.encode("utf-8", errors="replace")))

    def _bad(self, file: str, lineno: int, raw: str, error: str, doc_id: str, writer, rank: int) -> None:
        reason = error.split(":", 1)[0].split(" (", 1)[0]
        if self.bad_records == "error" or writer is None:
            where = f"{file}:{lineno}" if lineno else file
            raise BadInputError(f"{where}: {error} (set curation.bad_records: exclude to set such records aside)")
        self.stat_update("bad_records", f"bad_{reason}")
        meta = {"source": self.source.name, "kind": self.source.kind, "file": file, "line": lineno,
                "filter_reason": reason, "error": error}
        writer.write(Document(text=raw, id=doc_id, metadata=meta), rank)
