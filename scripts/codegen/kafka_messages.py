#!/usr/bin/env python3
"""Generates the Kafka message codecs of KafkaWire from our declarative definitions.

    scripts/codegen/kafka_messages.py            regenerate every file
    scripts/codegen/kafka_messages.py --check    regenerate into a temporary directory and
                                                 exit 1 (printing a diff) if anything
                                                 committed differs or is missing or stale

Inputs:  Sources/KafkaWire/Protocol/Definitions/<Api>.kafka  (one file per API: request and
         response; the format is described in Definitions/README.md)
Outputs: Sources/KafkaWire/Protocol/Messages/<Name>Request.swift, <Name>Response.swift
         Sources/KafkaWire/Protocol/Messages/KafkaApis.swift   (ApiKey, version table,
                                                               request/response enums)
         Tests/KafkaWireTests/Protocol/Generated/<Name>+Random.swift  (random values per
                                                               version for property tests)
Python 3 standard library only.
"""

import difflib
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFS = os.path.join(ROOT, "Sources/KafkaWire/Protocol/Definitions")
OUT_SOURCES = os.path.join(ROOT, "Sources/KafkaWire/Protocol/Messages")
OUT_TESTS = os.path.join(ROOT, "Tests/KafkaWireTests/Protocol/Generated")
SCRIPT = "scripts/codegen/kafka_messages.py"

MAX_VERSION = 32767

PRIMITIVES = {
    # name: (swift type, zero value, reader, writer, random)
    "int8": ("Int8", "0"),
    "int16": ("Int16", "0"),
    "int32": ("Int32", "0"),
    "int64": ("Int64", "0"),
    "uint16": ("UInt16", "0"),
    "uint32": ("UInt32", "0"),
    "float64": ("Double", "0"),
    "bool": ("Bool", "false"),
    "string": ("String", '""'),
    "bytes": ("[UInt8]", "[]"),
    "records": ("[UInt8]", "[]"),
    "uuid": ("KafkaUUID", ".zero"),
}

SWIFT_KEYWORDS = {
    "default", "protocol", "internal", "operator", "self", "Type", "func", "var", "let", "class",
    "struct", "enum", "case", "switch", "in", "is", "as", "return", "import", "public", "private",
    "static", "init", "extension", "where", "repeat", "while", "for", "if", "else", "do", "try",
}


class DefinitionError(Exception):
    pass


class Versions:
    """A range of versions: lo..hi inclusive (hi None = open)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text, where):
        m = re.fullmatch(r"v?(\d+)(\+|-(\d+))?", text)
        if not m:
            raise DefinitionError(f"{where}: bad version range {text!r}")
        lo = int(m.group(1))
        if m.group(2) == "+":
            return Versions(lo, None)
        if m.group(3) is not None:
            return Versions(lo, int(m.group(3)))
        return Versions(lo, lo)

    def contains(self, v):
        return v >= self.lo and (self.hi is None or v <= self.hi)

    def condition(self, msg_lo, msg_hi, var="version"):
        """A Swift condition for `var` in this range given the message's valid range, or
        None when it always holds, or 'false' when never."""
        lo = max(self.lo, msg_lo)
        hi = msg_hi if self.hi is None else min(self.hi, msg_hi)
        if lo > hi:
            return "false"
        parts = []
        if lo > msg_lo:
            parts.append(f"{var} >= {lo}")
        if hi < msg_hi:
            parts.append(f"{var} <= {hi}")
        return " && ".join(parts) if parts else None

    def intersect(self, other):
        lo = max(self.lo, other.lo)
        if self.hi is None:
            hi = other.hi
        elif other.hi is None:
            hi = self.hi
        else:
            hi = min(self.hi, other.hi)
        return Versions(lo, hi)


class Field:
    def __init__(self):
        self.name = None
        self.kind = None          # 'prim' | 'struct' | 'array_prim' | 'array_struct'
        self.prim = None          # primitive name for prim / array_prim
        self.struct = None        # Struct for struct / array_struct
        self.versions = Versions(0, None)
        self.nullable = None      # Versions or None
        self.tag = None
        self.default = None       # Swift literal or None
        self.ignorable = False
        self.doc = None
        self.line = 0


class Struct:
    def __init__(self, name):
        self.name = name
        self.fields = []
        self.doc = None


class Message:
    def __init__(self, api, kind):
        self.api = api
        self.kind = kind          # 'request' | 'response'
        self.name = api.name + ("Request" if kind == "request" else "Response")
        self.root = Struct(self.name)
        self.structs = []         # nested structs in definition order
        self.doc = []


class Api:
    def __init__(self):
        self.name = None
        self.key = None
        self.lo = self.hi = None
        self.flexible = None      # first flexible version or None
        self.file = None
        self.doc = []
        self.messages = {}


def parse_definition(path):
    api = Api()
    api.file = os.path.basename(path)
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    current = None               # Message
    stack = []                   # [(indent, Struct)]
    pending_doc = []
    for number, raw in enumerate(lines, 1):
        where = f"{api.file}:{number}"
        if not raw.strip():
            continue
        stripped = raw.strip()
        if stripped.startswith("##"):
            pending_doc.append(stripped[2:].strip())
            continue
        if stripped.startswith("#"):
            continue
        doc = None
        if " # " in raw:
            raw, doc = raw.split(" # ", 1)
            doc = doc.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        tokens = raw.split()
        if tokens[0] == "api":
            # api <Name> key <N> versions <a-b> flexible <n+|none>
            if len(tokens) != 8 or tokens[2] != "key" or tokens[4] != "versions" or tokens[6] != "flexible":
                raise DefinitionError(f"{where}: expected 'api Name key N versions A-B flexible N+|none'")
            api.name = tokens[1]
            api.key = int(tokens[3])
            rng = Versions.parse(tokens[5], where)
            api.lo, api.hi = rng.lo, rng.hi if rng.hi is not None else rng.lo
            api.flexible = None if tokens[7] == "none" else Versions.parse(tokens[7], where).lo
            api.doc = pending_doc
            pending_doc = []
            continue
        if tokens[0] in ("request", "response") and indent == 0:
            if api.name is None:
                raise DefinitionError(f"{where}: '{tokens[0]}' before 'api'")
            current = Message(api, tokens[0])
            current.doc = pending_doc
            pending_doc = []
            api.messages[tokens[0]] = current
            stack = [(0, current.root)]
            continue
        if current is None:
            raise DefinitionError(f"{where}: field outside request/response")
        while stack and indent <= stack[-1][0] and len(stack) > 1:
            stack.pop()
        parent = stack[-1][1]
        if indent <= stack[-1][0] and len(stack) == 1 and indent == 0:
            raise DefinitionError(f"{where}: fields must be indented")
        field = parse_field(tokens, where, current, number)
        field.doc = doc
        if pending_doc:
            field.doc = " ".join(pending_doc) + ((" " + doc) if doc else "")
            pending_doc = []
        if any(f.name == field.name for f in parent.fields):
            raise DefinitionError(f"{where}: duplicate field {field.name}")
        parent.fields.append(field)
        if field.kind in ("struct", "array_struct") and field.struct not in current.structs:
            # A new struct: the lines indented under this one are its fields. A name used
            # again later in the message refers to this struct.
            current.structs.append(field.struct)
            stack.append((indent, field.struct))
    for message in api.messages.values():
        for struct in [message.root] + message.structs:
            if struct is not message.root and not struct.fields:
                raise DefinitionError(f"{api.file}: struct {struct.name} has no fields")
            validate_struct(api, message, struct)
    if set(api.messages) != {"request", "response"}:
        raise DefinitionError(f"{api.file}: needs both a request and a response")
    return api


def parse_field(tokens, where, message, number):
    field = Field()
    field.line = number
    if len(tokens) < 2:
        raise DefinitionError(f"{where}: expected 'name type ...'")
    field.name = tokens[0]
    if not re.fullmatch(r"[a-z][A-Za-z0-9]*", field.name):
        raise DefinitionError(f"{where}: field names are lowerCamelCase, got {field.name!r}")
    type_text = tokens[1]
    array = type_text.startswith("[") and type_text.endswith("]")
    inner = type_text[1:-1] if array else type_text
    if inner in PRIMITIVES:
        field.kind = "array_prim" if array else "prim"
        field.prim = inner
    elif re.fullmatch(r"[A-Z][A-Za-z0-9]*", inner):
        field.kind = "array_struct" if array else "struct"
        existing = [s for s in message.structs if s.name == inner]
        field.struct = existing[0] if existing else Struct(inner)
        if inner == message.name:
            raise DefinitionError(f"{where}: struct name clashes with the message")
    else:
        raise DefinitionError(f"{where}: unknown type {type_text!r}")
    for token in tokens[2:]:
        if re.fullmatch(r"v\d+(\+|-\d+)?", token):
            field.versions = Versions.parse(token, where)
        elif token == "null":
            field.nullable = Versions(0, None)
        elif token.startswith("null:"):
            field.nullable = Versions.parse(token[5:], where)
        elif token.startswith("tag:"):
            field.tag = int(token[4:])
        elif token.startswith("default:"):
            field.default = token[8:]
        elif token == "ignorable":
            field.ignorable = True
        else:
            raise DefinitionError(f"{where}: unknown attribute {token!r}")
    if field.kind == "struct" and field.nullable is not None:
        raise DefinitionError(f"{where}: nullable structs are not supported")
    if field.kind == "prim" and field.prim in ("int8", "int16", "int32", "int64", "uint16", "uint32", "float64", "bool", "uuid") and field.nullable:
        raise DefinitionError(f"{where}: {field.prim} cannot be nullable")
    return field


def validate_struct(api, message, struct):
    tags = set()
    for field in struct.fields:
        if field.tag is not None:
            if api.flexible is None or field.versions.lo < api.flexible:
                raise DefinitionError(f"{api.file}:{field.line}: tagged field {field.name} outside flexible versions")
            if field.tag in tags:
                raise DefinitionError(f"{api.file}:{field.line}: duplicate tag {field.tag}")
            tags.add(field.tag)


# --------------------------------------------------------------------------- Swift helpers


def ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def swift_type(field):
    if field.kind == "prim":
        base = PRIMITIVES[field.prim][0]
    elif field.kind == "struct":
        base = field.struct.name
    elif field.kind == "array_prim":
        base = f"[{PRIMITIVES[field.prim][0]}]"
    else:
        base = f"[{field.struct.name}]"
    return base + "?" if field.nullable is not None else base


def default_value(field):
    if field.default is not None:
        d = field.default
        if d == "null":
            if field.nullable is None:
                raise DefinitionError(f"line {field.line}: default:null on a non-nullable field")
            return "nil"
        if field.kind == "prim" and field.prim == "string":
            return '"' + d.strip('"') + '"'
        if field.kind == "prim" and field.prim == "bool":
            if d not in ("true", "false"):
                raise DefinitionError(f"line {field.line}: bool default must be true or false")
            return d
        if field.kind == "prim" and field.prim in ("int8", "int16", "int32", "int64", "uint16", "uint32", "float64"):
            if not re.fullmatch(r"-?\d+(\.\d+)?", d):
                raise DefinitionError(f"line {field.line}: numeric default expected, got {d!r}")
            return d
        raise DefinitionError(f"line {field.line}: default not supported for this type")
    if field.nullable is not None and field.nullable.lo <= field.versions.lo:
        return "nil"
    # Nullable only in later versions: the default must be representable in the earlier ones.
    if field.kind == "prim":
        return PRIMITIVES[field.prim][1]
    if field.kind == "struct":
        return f"{field.struct.name}()"
    return "[]"


def is_default_expr(field, value):
    d = default_value(field)
    if field.kind in ("array_prim", "array_struct") and d == "[]" and field.nullable is None:
        return f"{value}.isEmpty"
    return f"{value} == {d}"


READERS = {
    "int8": "readKafkaInt8", "int16": "readKafkaInt16", "int32": "readKafkaInt32",
    "int64": "readKafkaInt64", "uint16": "readKafkaUInt16", "uint32": "readKafkaUInt32",
    "float64": "readKafkaFloat64", "bool": "readKafkaBool", "uuid": "readKafkaUUID",
}
WRITERS = {
    "int8": "writeKafkaInt8", "int16": "writeKafkaInt16", "int32": "writeKafkaInt32",
    "int64": "writeKafkaInt64", "uint16": "writeKafkaUInt16", "uint32": "writeKafkaUInt32",
    "float64": "writeKafkaFloat64", "bool": "writeKafkaBool", "uuid": "writeKafkaUUID",
}


def read_prim(prim, nullable, reader, label, compact):
    if prim in READERS:
        return f'try {reader}.{READERS[prim]}("{label}")'
    kind = "String" if prim == "string" else "Bytes"
    null = "Nullable" if nullable else ""
    return f'try {reader}.readKafka{null}{kind}(compact: {compact}, "{label}")'


def write_prim(prim, nullable, writer, value, compact, message, label):
    if prim in WRITERS:
        return f"{writer}.{WRITERS[prim]}({value})"
    kind = "String" if prim == "string" else "Bytes"
    null = "Nullable" if nullable else ""
    return f'try {writer}.writeKafka{null}{kind}({value}, compact: {compact}, message: "{message}", field: "{label}")'


class Emitter:
    def __init__(self):
        self.lines = []
        self.level = 0

    def __call__(self, text=""):
        self.lines.append(("    " * self.level + text) if text else "")

    def indent(self):
        self.level += 1

    def dedent(self):
        self.level -= 1

    def text(self):
        return "\n".join(self.lines) + "\n"


def cond_or_true(c):
    return "true" if c is None else c


# ------------------------------------------------------------------------ message emitter


class MessageGenerator:
    def __init__(self, api, message):
        self.api = api
        self.message = message
        self.lo, self.hi = api.lo, api.hi

    def flexible_cond(self):
        if self.api.flexible is None:
            return "false"
        return cond_or_true(Versions(self.api.flexible, None).condition(self.lo, self.hi))

    def present(self, field):
        """Condition under which the field is on the wire (outside the tagged section)."""
        return field.versions.condition(self.lo, self.hi)

    def nullable_cond(self, field):
        if field.nullable is None:
            return "false"
        return cond_or_true(field.nullable.intersect(field.versions).condition(self.lo, self.hi))

    def generate(self):
        e = Emitter()
        m = self.message
        e(f"// generated by {SCRIPT} from Definitions/{self.api.file} — do not edit")
        e()
        e("import WireCore")
        e()
        flex = "never flexible" if self.api.flexible is None else f"flexible from v{self.api.flexible}"
        summary = f"The {self.api.name} {m.kind} (API key {self.api.key}), v{self.lo}-v{self.hi}, {flex}."
        for line in (m.doc or self.api.doc) + (["", summary] if (m.doc or self.api.doc) else [summary]):
            e(f"/// {line}" if line else "///")
        e(f"public struct {m.name}: Sendable, Equatable {{")
        e.indent()
        e(f"public static let apiKey: Int16 = {self.api.key}")
        e(f"public static let validVersions: ClosedRange<Int16> = {self.lo}...{self.hi}")
        if self.api.flexible is None:
            e("/// Versions using compact lengths and tagged fields (none).")
            e("public static let flexibleVersions: Range<Int16> = 0..<0")
        else:
            e("/// Versions using compact lengths and tagged fields (KIP-482).")
            e(f"public static let flexibleVersions: Range<Int16> = {self.api.flexible}..<Int16.max")
        e()
        self.emit_struct_body(e, m.root, top=True)
        for struct in m.structs:
            e()
            e(f"public struct {struct.name}: Sendable, Equatable {{")
            e.indent()
            self.emit_struct_body(e, struct, top=False)
            e.dedent()
            e("}")
        e.dedent()
        e("}")
        return e.text()

    def emit_struct_body(self, e, struct, top):
        m = self.message
        for field in struct.fields:
            doc = field.doc or ""
            notes = []
            if field.versions.lo > 0 or field.versions.hi is not None:
                hi = "+" if field.versions.hi is None else f"-{field.versions.hi}"
                notes.append(f"v{field.versions.lo}{hi}")
            if field.tag is not None:
                notes.append(f"tag {field.tag}")
            if field.nullable is not None and field.nullable.lo > field.versions.lo:
                notes.append(f"nullable v{field.nullable.lo}+")
            text = doc + (f" ({', '.join(notes)})" if notes else "")
            if text.strip():
                e(f"/// {text.strip()}")
            e(f"public var {ident(field.name)}: {swift_type(field)}")
        e("/// Tagged fields this codec does not know, kept so re-encoding is exact.")
        e("public var unknownTaggedFields: [KafkaTaggedField]")
        e()
        params = [f"{ident(f.name)}: {swift_type(f)} = {default_value(f)}" for f in struct.fields]
        params.append("unknownTaggedFields: [KafkaTaggedField] = []")
        e("public init(")
        e.indent()
        for i, p in enumerate(params):
            e(p + ("," if i < len(params) - 1 else ""))
        e.dedent()
        e(") {")
        e.indent()
        for f in struct.fields:
            e(f"self.{f.name} = {ident(f.name)}")
        e("self.unknownTaggedFields = unknownTaggedFields")
        e.dedent()
        e("}")
        e()
        self.emit_encode(e, struct, top)
        e()
        self.emit_decode(e, struct, top)

    # ---------------------------------------------------------------- encoding

    def label(self, struct, field):
        return f"{struct.name}.{field.name}" if struct is not self.message.root else field.name

    def emit_encode(self, e, struct, top):
        m = self.message
        if top:
            e("/// Appends the body (no header, no size prefix) at `version`.")
            e("public func encode(into writer: inout ByteWriter, version: Int16) throws(KafkaEncodingError) {")
            e.indent()
            e("guard Self.validVersions.contains(version) else {")
            e(f'    throw .unsupportedVersion(message: "{m.name}", version: version)')
            e("}")
        else:
            e("func encode(into writer: inout ByteWriter, version: Int16) throws(KafkaEncodingError) {")
            e.indent()
        e(f"let flexible = {self.flexible_cond()}")
        e("_ = flexible")
        for field in struct.fields:
            if field.tag is not None:
                # Tagged fields that are absent at this version must hold their default.
                tag_cond = self.tag_cond(field)
                if not field.ignorable and tag_cond != "true":
                    e(f"if !({tag_cond}) && !({is_default_expr(field, 'self.' + field.name)}) {{")
                    e(f'    throw .fieldNotInVersion(message: "{m.name}", field: "{self.label(struct, field)}", version: version)')
                    e("}")
                continue
            cond = self.present(field)
            if cond == "false":
                raise DefinitionError(f"{self.api.file}:{field.line}: field {field.name} is in no valid version")
            if cond is None:
                self.emit_encode_field(e, struct, field, f"self.{field.name}", "writer", "flexible")
            else:
                e(f"if {cond} {{")
                e.indent()
                self.emit_encode_field(e, struct, field, f"self.{field.name}", "writer", "flexible")
                e.dedent()
                if not field.ignorable:
                    e(f"}} else if !({is_default_expr(field, 'self.' + field.name)}) {{")
                    e(f'    throw .fieldNotInVersion(message: "{m.name}", field: "{self.label(struct, field)}", version: version)')
                e("}")
        tagged = sorted([f for f in struct.fields if f.tag is not None], key=lambda f: f.tag)
        always = self.flexible_cond()
        if always == "false":
            e("if !self.unknownTaggedFields.isEmpty {")
            e(f'    throw .fieldNotInVersion(message: "{m.name}", field: "{struct.name}.unknownTaggedFields", version: version)')
            e("}")
        else:
            if always != "true":
                e("if flexible {")
                e.indent()
            self.emit_encode_tags(e, struct, tagged)
            if always != "true":
                e.dedent()
                e("} else if !self.unknownTaggedFields.isEmpty {")
                e(f'    throw .fieldNotInVersion(message: "{m.name}", field: "{struct.name}.unknownTaggedFields", version: version)')
                e("}")
        e.dedent()
        e("}")
        if top:
            e()
            e("/// The encoded body at `version`.")
            e("public func encoded(version: Int16, capacity: Int = 256) throws(KafkaEncodingError) -> [UInt8] {")
            e("    var writer = ByteWriter(capacity: capacity)")
            e("    try encode(into: &writer, version: version)")
            e("    return writer.bytes")
            e("}")

    def emit_encode_tags(self, e, struct, tagged):
        if tagged:
            e("var tagCount = self.unknownTaggedFields.count")
            for f in tagged:
                e(f"if {self.tag_present(f)} {{ tagCount += 1 }}")
            e("writer.writeUnsignedVarint(UInt64(tagCount))")
            e("var unknownIndex = 0")
            for f in tagged:
                e(f"if {self.tag_present(f)} {{")
                e.indent()
                e(f"while unknownIndex < self.unknownTaggedFields.count && self.unknownTaggedFields[unknownIndex].tag < {f.tag} {{")
                e("    let unknown = self.unknownTaggedFields[unknownIndex]")
                e("    writer.writeKafkaTaggedField(tag: unknown.tag, value: unknown.data)")
                e("    unknownIndex += 1")
                e("}")
                e("var tagWriter = ByteWriter(capacity: 16)")
                self.emit_encode_field(e, struct, f, f"self.{f.name}", "tagWriter", "true")
                e(f"writer.writeKafkaTaggedField(tag: {f.tag}, value: tagWriter.bytes)")
                e.dedent()
                e("}")
            e("while unknownIndex < self.unknownTaggedFields.count {")
            e("    let unknown = self.unknownTaggedFields[unknownIndex]")
            e("    writer.writeKafkaTaggedField(tag: unknown.tag, value: unknown.data)")
            e("    unknownIndex += 1")
            e("}")
        else:
            e("writer.writeUnsignedVarint(UInt64(self.unknownTaggedFields.count))")
            e("for unknown in self.unknownTaggedFields {")
            e("    writer.writeKafkaTaggedField(tag: unknown.tag, value: unknown.data)")
            e("}")

    def tag_present(self, field):
        """Whether a known tagged field goes on the wire: in its versions and not default."""
        not_default = f"!({is_default_expr(field, 'self.' + field.name)})"
        cond = self.tag_cond(field)
        return not_default if cond == "true" else f"{cond} && {not_default}"

    def tag_cond(self, field):
        rng = field.versions
        return cond_or_true(rng.condition(self.lo, self.hi))

    def emit_encode_field(self, e, struct, field, value, writer, compact):
        m = self.message
        label = self.label(struct, field)
        if field.nullable is not None:
            ncond = self.nullable_cond(field)
            e(f"if let value = {value} {{")
            e.indent()
            self.emit_encode_value(e, field, "value", writer, compact, label)
            e.dedent()
            if ncond == "true":
                e("} else {")
            else:
                e(f"}} else if {ncond} {{")
            e.indent()
            wide = "false" if field.kind == "prim" and field.prim == "string" else "true"
            e(f"{writer}.writeKafkaNullLength(compact: {compact}, wide: {wide})")
            e.dedent()
            if ncond != "true":
                e("} else {")
                e(f'    throw .nullNotAllowed(message: "{m.name}", field: "{label}", version: version)')
            e("}")
        else:
            self.emit_encode_value(e, field, value, writer, compact, label)

    def emit_encode_value(self, e, field, value, writer, compact, label):
        m = self.message
        if field.kind == "prim":
            e(write_prim(field.prim, False, writer, value, compact, m.name, label))
        elif field.kind == "struct":
            e(f"try {value}.encode(into: &{writer}, version: version)")
        elif field.kind == "array_prim":
            e(f'try {writer}.writeKafkaArrayCount({value}.count, compact: {compact}, message: "{m.name}", field: "{label}")')
            e(f"for element in {value} {{")
            e("    " + write_prim(field.prim, False, writer, "element", compact, m.name, label))
            e("}")
        else:
            e(f'try {writer}.writeKafkaArrayCount({value}.count, compact: {compact}, message: "{m.name}", field: "{label}")')
            e(f"for element in {value} {{")
            e(f"    try element.encode(into: &{writer}, version: version)")
            e("}")

    # ---------------------------------------------------------------- decoding

    def emit_decode(self, e, struct, top):
        m = self.message
        if top:
            e("/// Reads the body at `version`; the reader is left after the last field.")
            e("public init(from reader: inout ByteReader, version: Int16) throws(KafkaDecodingError) {")
            e.indent()
            e("guard Self.validVersions.contains(version) else {")
            e(f'    throw .unsupportedVersion(message: "{m.name}", version: version)')
            e("}")
            e("do throws(WireDecodingError) {")
            e("    try self.init(body: &reader, version: version)")
            e("} catch {")
            e(f'    throw .invalidField(message: "{m.name}", version: version, error: error)')
            e("}")
            e.dedent()
            e("}")
            e()
            e("/// Decodes a whole body; bytes after the last field are an error.")
            e("public static func decode(_ bytes: [UInt8], version: Int16) throws(KafkaDecodingError) -> Self {")
            e("    var reader = ByteReader(bytes)")
            e("    let value = try Self(from: &reader, version: version)")
            e("    guard reader.isAtEnd else {")
            e(f'        throw .trailingBytes(message: "{m.name}", version: version, count: reader.remaining)')
            e("    }")
            e("    return value")
            e("}")
            e()
            e("init(body reader: inout ByteReader, version: Int16) throws(WireDecodingError) {")
        else:
            e("init(from reader: inout ByteReader, version: Int16) throws(WireDecodingError) {")
        e.indent()
        e(f"let flexible = {self.flexible_cond()}")
        e("_ = flexible")
        for f in struct.fields:
            e(f"self.{f.name} = {default_value(f)}")
        e("self.unknownTaggedFields = []")
        for field in struct.fields:
            if field.tag is not None:
                continue
            cond = self.present(field)
            if cond is None:
                self.emit_decode_field(e, struct, field, "reader", "flexible")
            else:
                e(f"if {cond} {{")
                e.indent()
                self.emit_decode_field(e, struct, field, "reader", "flexible")
                e.dedent()
                e("}")
        tagged = sorted([f for f in struct.fields if f.tag is not None], key=lambda f: f.tag)
        always = self.flexible_cond()
        if always == "false":
            e.dedent()
            e("}")
            return
        if always != "true":
            e("if flexible {")
            e.indent()
        e(f'let tagCount = try reader.readKafkaTagCount("{struct.name}.taggedFields")')
        e("for _ in 0..<tagCount {")
        e.indent()
        e(f'let (tag, size) = try reader.readKafkaTagHeader("{struct.name}.taggedFields")')
        if tagged:
            e("switch tag {")
            for f in tagged:
                c = self.tag_cond(f)
                e(f"case {f.tag}" + ("" if c == "true" else f" where {c}") + ":")
                e.indent()
                e("var tagReader = reader.kafkaSubReader(size: size)")
                self.emit_decode_field(e, struct, f, "tagReader", "true")
                e(f'try reader.requireKafkaTagConsumed(tagReader, "{self.label(struct, f)}")')
                e(f'try reader.skip(size, field: "{self.label(struct, f)}")')
                e.dedent()
            e("default:")
            e(f'    self.unknownTaggedFields.append(try reader.readKafkaUnknownTag(tag: tag, size: size, "{struct.name}.taggedFields"))')
            e("}")
        else:
            e(f'self.unknownTaggedFields.append(try reader.readKafkaUnknownTag(tag: tag, size: size, "{struct.name}.taggedFields"))')
        e.dedent()
        e("}")
        if always != "true":
            e.dedent()
            e("}")
        e.dedent()
        e("}")

    def emit_decode_field(self, e, struct, field, reader, compact):
        label = self.label(struct, field)
        target = f"self.{field.name}"
        if field.kind == "prim":
            if field.nullable is None:
                e(f"{target} = {read_prim(field.prim, False, reader, label, compact)}")
            else:
                ncond = self.nullable_cond(field)
                if ncond == "true":
                    e(f"{target} = {read_prim(field.prim, True, reader, label, compact)}")
                else:
                    e(f"if {ncond} {{")
                    e(f"    {target} = {read_prim(field.prim, True, reader, label, compact)}")
                    e("} else {")
                    e(f"    {target} = {read_prim(field.prim, False, reader, label, compact)}")
                    e("}")
            return
        if field.kind == "struct":
            e(f"{target} = try {field.struct.name}(from: &{reader}, version: version)")
            return
        element_type = PRIMITIVES[field.prim][0] if field.kind == "array_prim" else field.struct.name
        if field.kind == "array_prim":
            read_element = read_prim(field.prim, False, reader, label, compact)
        else:
            read_element = f"try {field.struct.name}(from: &{reader}, version: version)"
        e("do {")
        e.indent()
        if field.nullable is None:
            e(f'let count = try {reader}.readKafkaNonNullArrayCount(compact: {compact}, "{label}")')
            open_count = None
        else:
            ncond = self.nullable_cond(field)
            if ncond == "true":
                e(f'let count = try {reader}.readKafkaArrayCount(compact: {compact}, "{label}")')
            else:
                e("let count: Int?")
                e(f"if {ncond} {{")
                e(f'    count = try {reader}.readKafkaArrayCount(compact: {compact}, "{label}")')
                e("} else {")
                e(f'    count = try {reader}.readKafkaNonNullArrayCount(compact: {compact}, "{label}")')
                e("}")
            open_count = True
        if open_count:
            e("if let count {")
            e.indent()
        e(f"var elements: [{element_type}] = []")
        e("elements.reserveCapacity(count)")
        e("for _ in 0..<count {")
        e(f"    elements.append({read_element})")
        e("}")
        e(f"{target} = elements")
        if open_count:
            e.dedent()
            e("} else {")
            e(f"    {target} = nil")
            e("}")
        e.dedent()
        e("}")

    # ---------------------------------------------------------------- random values (tests)

    def generate_random(self):
        e = Emitter()
        m = self.message
        e(f"// generated by {SCRIPT} from Definitions/{self.api.file} — do not edit")
        e()
        e("@testable import KafkaWire")
        e("import WireCore")
        e()
        for struct in [m.root] + m.structs:
            qualified = m.name if struct is m.root else f"{m.name}.{struct.name}"
            e(f"extension {qualified} {{")
            e.indent()
            e("/// A random value representable at `version`: fields absent there keep their defaults.")
            e("static func random(using rng: inout KafkaTestRandom, version: Int16, depth: Int = 0) -> Self {")
            e.indent()
            e("var value = Self()")
            e(f"let flexible = {self.flexible_cond()}")
            for field in struct.fields:
                cond = cond_or_true(field.versions.condition(self.lo, self.hi))
                e(f"if {cond} {{")
                e.indent()
                e(f"value.{field.name} = {self.random_expr(field)}")
                e.dedent()
                e("}")
            known = sorted(f.tag for f in struct.fields if f.tag is not None)
            first_unknown = (known[-1] + 1) if known else 0
            e(f"if flexible {{ value.unknownTaggedFields = rng.unknownTaggedFields(above: {first_unknown}) }}")
            e("return value")
            e.dedent()
            e("}")
            e.dedent()
            e("}")
            e()
        return e.text().rstrip("\n") + "\n"

    def random_expr(self, field):
        if field.kind == "prim":
            base = {
                "int8": "rng.int8()", "int16": "rng.int16()", "int32": "rng.int32()", "int64": "rng.int64()",
                "uint16": "rng.uint16()", "uint32": "rng.uint32()", "float64": "rng.float64()", "bool": "rng.bool()",
                "string": "rng.string()", "bytes": "rng.bytes()", "records": "rng.bytes()", "uuid": "rng.uuid()",
            }[field.prim]
        elif field.kind == "struct":
            base = f"{self.message.name}.{field.struct.name}.random(using: &rng, version: version, depth: depth + 1)"
        elif field.kind == "array_prim":
            inner = self.random_expr_prim(field.prim)
            base = f"rng.array(depth: depth) {{ rng in {inner} }}"
        else:
            base = f"rng.array(depth: depth) {{ rng in {self.message.name}.{field.struct.name}.random(using: &rng, version: version, depth: depth + 1) }}"
        if field.nullable is None:
            return base
        ncond = self.nullable_cond(field)
        return f"({ncond}) && rng.chance(5) ? nil : {base}"

    def random_expr_prim(self, prim):
        return {
            "int8": "rng.int8()", "int16": "rng.int16()", "int32": "rng.int32()", "int64": "rng.int64()",
            "uint16": "rng.uint16()", "uint32": "rng.uint32()", "float64": "rng.float64()", "bool": "rng.bool()",
            "string": "rng.string()", "bytes": "rng.bytes()", "records": "rng.bytes()", "uuid": "rng.uuid()",
        }[prim]


# ------------------------------------------------------------------------ API table


def lower_first(name):
    i = 0
    while i < len(name) and name[i].isupper():
        i += 1
    if i <= 1:
        return name[:1].lower() + name[1:]
    return name[: i - 1].lower() + name[i - 1:]


def generate_apis(apis):
    e = Emitter()
    e(f"// generated by {SCRIPT} from Definitions/*.kafka — do not edit")
    e()
    e("import WireCore")
    e()
    e("/// The Kafka APIs this codec speaks, by their API key.")
    e("public enum ApiKey: Int16, Sendable, CaseIterable, CustomStringConvertible {")
    e.indent()
    for api in apis:
        e(f"case {lower_first(api.name)} = {api.key}")
    e()
    e("public var description: String {")
    e("    switch self {")
    for api in apis:
        e(f'    case .{lower_first(api.name)}: return "{api.name}"')
    e("    }")
    e("}")
    e()
    e("/// The versions this codec speaks: from the lowest Kafka 4.x accepts to the highest")
    e("/// Kafka 4.1 speaks. ApiVersions negotiation intersects these with the broker's.")
    e("public var supportedVersions: ClosedRange<Int16> {")
    e("    switch self {")
    for api in apis:
        e(f"    case .{lower_first(api.name)}: return {api.lo}...{api.hi}")
    e("    }")
    e("}")
    e()
    e("/// The first flexible version (compact encodings, tagged fields), if any.")
    e("public var firstFlexibleVersion: Int16? {")
    e("    switch self {")
    for api in apis:
        e(f"    case .{lower_first(api.name)}: return {'nil' if api.flexible is None else api.flexible}")
    e("    }")
    e("}")
    e()
    e("public func isFlexible(_ version: Int16) -> Bool {")
    e("    guard let first = firstFlexibleVersion else { return false }")
    e("    return version >= first")
    e("}")
    e()
    e("/// Request header v2 for flexible versions, v1 otherwise.")
    e("public func requestHeaderVersion(_ version: Int16) -> Int16 {")
    e("    isFlexible(version) ? 2 : 1")
    e("}")
    e()
    e("/// Response header v1 for flexible versions, v0 otherwise; ApiVersions always answers")
    e("/// with v0 so a client that sent a version the broker does not know can read it.")
    e("public func responseHeaderVersion(_ version: Int16) -> Int16 {")
    e("    if self == .apiVersions { return 0 }")
    e("    return isFlexible(version) ? 1 : 0")
    e("}")
    e.dedent()
    e("}")
    for kind in ("request", "response"):
        Kind = kind.capitalize()
        e()
        e(f"/// Any {kind} body this codec speaks, tagged by API.")
        e(f"public enum Kafka{Kind}: Sendable, Equatable {{")
        e.indent()
        for api in apis:
            e(f"case {lower_first(api.name)}({api.name}{Kind})")
        e()
        e("public var apiKey: ApiKey {")
        e("    switch self {")
        for api in apis:
            e(f"    case .{lower_first(api.name)}: return .{lower_first(api.name)}")
        e("    }")
        e("}")
        e()
        e(f"/// Decodes the body of a {kind} of `apiKey` at `version`.")
        e(f"public static func decode(apiKey: Int16, version: Int16, from reader: inout ByteReader) throws(KafkaDecodingError) -> Kafka{Kind} {{")
        e.indent()
        e("guard let key = ApiKey(rawValue: apiKey) else { throw .unknownApiKey(apiKey) }")
        e("switch key {")
        for api in apis:
            e(f"case .{lower_first(api.name)}: return .{lower_first(api.name)}(try {api.name}{Kind}(from: &reader, version: version))")
        e("}")
        e.dedent()
        e("}")
        e()
        e("public func encode(into writer: inout ByteWriter, version: Int16) throws(KafkaEncodingError) {")
        e("    switch self {")
        for api in apis:
            e(f"    case .{lower_first(api.name)}(let body): try body.encode(into: &writer, version: version)")
        e("    }")
        e("}")
        e.dedent()
        e("}")
    return e.text()


def generate_random_registry(apis):
    e = Emitter()
    e(f"// generated by {SCRIPT} from Definitions/*.kafka — do not edit")
    e()
    e("@testable import KafkaWire")
    e()
    e("enum GeneratedSamples {")
    e.indent()
    for kind in ("request", "response"):
        Kind = kind.capitalize()
        e(f"static func random{Kind}(_ key: ApiKey, version: Int16, using rng: inout KafkaTestRandom) -> Kafka{Kind} {{")
        e("    switch key {")
        for api in apis:
            e(f"    case .{lower_first(api.name)}: return .{lower_first(api.name)}({api.name}{Kind}.random(using: &rng, version: version))")
        e("    }")
        e("}")
        e()
    e.dedent()
    e("}")
    return e.text().replace("\n\n}\n", "\n}\n")


# ------------------------------------------------------------------------ driver


def render():
    """Every generated file: {absolute path: content}."""
    files = {}
    apis = []
    for name in sorted(os.listdir(DEFS)):
        if not name.endswith(".kafka"):
            continue
        api = parse_definition(os.path.join(DEFS, name))
        apis.append(api)
    keys = {}
    for api in apis:
        if api.key in keys:
            raise DefinitionError(f"{api.file}: API key {api.key} also in {keys[api.key]}")
        keys[api.key] = api.file
    apis.sort(key=lambda a: a.key)
    for api in apis:
        for kind in ("request", "response"):
            gen = MessageGenerator(api, api.messages[kind])
            files[os.path.join(OUT_SOURCES, gen.message.name + ".swift")] = gen.generate()
            files[os.path.join(OUT_TESTS, gen.message.name + "+Random.swift")] = gen.generate_random()
    files[os.path.join(OUT_SOURCES, "KafkaApis.swift")] = generate_apis(apis)
    files[os.path.join(OUT_TESTS, "GeneratedSamples.swift")] = generate_random_registry(apis)
    return files


def existing_generated(directory):
    if not os.path.isdir(directory):
        return set()
    return {os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".swift")}


def main(argv):
    check = "--check" in argv[1:]
    unknown = [a for a in argv[1:] if a != "--check"]
    if unknown:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        files = render()
    except DefinitionError as error:
        print(f"kafka_messages.py: {error}", file=sys.stderr)
        return 1
    stale = (existing_generated(OUT_SOURCES) | existing_generated(OUT_TESTS)) - set(files)
    if check:
        # Regenerate into a temporary directory, then compare with what is committed.
        problems = 0
        with tempfile.TemporaryDirectory() as tmp:
            for path, content in sorted(files.items()):
                scratch = os.path.join(tmp, os.path.relpath(path, ROOT))
                os.makedirs(os.path.dirname(scratch), exist_ok=True)
                with open(scratch, "w", encoding="utf-8") as handle:
                    handle.write(content)
                rel = os.path.relpath(path, ROOT)
                if not os.path.exists(path):
                    print(f"missing: {rel}")
                    problems += 1
                    continue
                with open(path, encoding="utf-8") as handle:
                    current = handle.read()
                with open(scratch, encoding="utf-8") as handle:
                    regenerated = handle.read()
                if current != regenerated:
                    problems += 1
                    diff = difflib.unified_diff(
                        current.splitlines(True), regenerated.splitlines(True),
                        fromfile=f"committed/{rel}", tofile=f"regenerated/{rel}", n=2)
                    sys.stdout.writelines(list(diff)[:60])
        for path in sorted(stale):
            print(f"stale (no definition generates it): {os.path.relpath(path, ROOT)}")
            problems += 1
        if problems:
            print(f"kafka_messages.py --check: {problems} generated file(s) out of date; run {SCRIPT}")
            return 1
        print(f"kafka_messages.py --check: {len(files)} generated files up to date")
        return 0
    for path, content in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                old = handle.read()
        if old != content:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
    for path in stale:
        os.remove(path)
    print(f"kafka_messages.py: {len(files)} files generated from {DEFS_REL}")
    return 0


DEFS_REL = os.path.relpath(DEFS, ROOT)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
