"""multipart/form-data parsing of a body already in memory, without copying it.

The service reads a whole body before it parses it (no inference place is held while a body
arrives), so the body is one buffer. Starlette's parser, made for streams, copies each file part
twice more (a slice, then a spooled file, then ``read()``): a 100 MB batch body cost ~300 MB. Here
the tokenizer of python-multipart reports where each part's data lies; a file part is copied once,
into its own ``bytes``, and a part over ``max_file_bytes`` is refused as soon as that is known,
before it is copied at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import BadRequest, PayloadTooLarge

#: Headers of one part (names and values together) beyond this are not a form a browser sends.
MAX_PART_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    data: bytes


@dataclass
class Form:
    files: list[FilePart] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    filename: str | None = None
    pieces: list[bytes | memoryview] = field(default_factory=list)
    size: int = 0
    header_bytes: int = 0


def boundary_of(content_type: str) -> bytes:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest(
            "malformed multipart body: the Content-Type has no boundary", code="bad_multipart"
        )
    return boundary


def _text(raw: bytes | memoryview) -> str:
    data = bytes(raw)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _FormParser:
    def __init__(
        self,
        body: bytes | bytearray,
        *,
        max_files: int,
        max_fields: int,
        max_field_bytes: int,
        max_file_bytes: int,
        single_file: bool,
    ) -> None:
        self.body = body
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_field_bytes = max_field_bytes
        self.max_file_bytes = max_file_bytes
        self.single_file = single_file
        self.form = Form()
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.n_fields = 0
        self.view = memoryview(body)

    def _piece(self, data: bytes, start: int, end: int) -> bytes | memoryview:
        # Data of the body itself is referenced; anything else (the tokenizer's look-behind
        # buffer, a few bytes at most) is copied, being reused.
        if data is self.body:
            return self.view[start:end]
        return bytes(data[start:end])

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_name += bytes(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_value += bytes(data[start:end])

    def _count_header(self, size: int) -> None:
        self.part.header_bytes += size
        if self.part.header_bytes > MAX_PART_HEADER_BYTES:
            raise BadRequest(
                f"malformed multipart body: a part's headers are over "
                f"{MAX_PART_HEADER_BYTES // 1024} KB",
                code="bad_multipart",
            )

    def on_header_end(self) -> None:
        self.part.headers.append((self.header_name.lower(), self.header_value))
        self.header_name = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        disposition = next((v for k, v in self.part.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise BadRequest(
                'malformed multipart body: a part has no Content-Disposition "name"',
                code="bad_multipart",
            )
        self.part.name = _text(options[b"name"])
        if b"filename" in options:
            self.part.filename = _text(options[b"filename"])
            if len(self.form.files) >= self.max_files:
                if self.single_file:
                    raise BadRequest(
                        "send exactly one file field 'image' to /ocr; use /ocr/batch for several",
                        code="too_many_files",
                    )
                raise BadRequest(
                    f"malformed multipart body: too many files (the limit is {self.max_files})",
                    code="bad_multipart",
                )
        else:
            self.n_fields += 1
            if self.n_fields > self.max_fields:
                raise BadRequest(
                    f"malformed multipart body: too many fields (the limit is {self.max_fields})",
                    code="bad_multipart",
                )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        part.size += end - start
        if part.filename is None and part.size > self.max_field_bytes:
            raise PayloadTooLarge(
                f"the form field {part.name!r} is over {self.max_field_bytes // 1024} KB",
                code="field_too_large",
            )
        if part.filename is not None and part.size > self.max_file_bytes:
            raise PayloadTooLarge(
                f"the image is at least {part.size} bytes, over the limit of "
                f"{self.max_file_bytes} bytes",
                code="file_too_large",
            )
        part.pieces.append(self._piece(data, start, end))

    def on_part_end(self) -> None:
        part = self.part
        data = part.pieces[0] if len(part.pieces) == 1 else b"".join(part.pieces)  # b"" if none
        if part.filename is None:
            self.form.fields.setdefault(part.name, _text(data))
        else:
            self.form.files.append(FilePart(part.name, part.filename, bytes(data)))
        self.part = _Part()

    def parse(self, boundary: bytes) -> Form:
        callbacks = {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        try:
            parser.write(self.body)  # type: ignore[arg-type]
            parser.finalize()
        except FormParserError as exc:
            raise BadRequest(f"malformed multipart body: {exc}", code="bad_multipart") from None
        finally:
            self.part = _Part()  # no view of the body outlives the parse
        return self.form


def parse_form(
    body: bytes | bytearray,
    content_type: str,
    *,
    max_files: int,
    max_fields: int,
    max_field_bytes: int,
    max_file_bytes: int,
    single_file: bool = False,
) -> Form:
    """The file parts and text fields of a multipart body. Errors are the service's 400s and 413s:
    ``bad_multipart``, ``too_many_files`` (when ``single_file``), ``field_too_large``,
    ``file_too_large``."""
    boundary = boundary_of(content_type)
    return _FormParser(
        body,
        max_files=max_files,
        max_fields=max_fields,
        max_field_bytes=max_field_bytes,
        max_file_bytes=max_file_bytes,
        single_file=single_file,
    ).parse(boundary)
