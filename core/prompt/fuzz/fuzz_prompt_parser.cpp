// libFuzzer target: any bytes give a document and diagnostics, never a crash or a hang. A document
// without errors reads back unchanged from its canonical text, and serialise() is idempotent.
#include "charaforge/prompt/prompt.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace charaforge::prompt;
    const ParseResult result = parse_utf8(QByteArrayView(data, static_cast<qsizetype>(size)));
    for (const Diagnostic& d : result.diagnostics)
        if (d.line < 1 || d.column < 1 || d.message.isEmpty())
            __builtin_trap();
    if (result.has_errors())
        return 0;
    const QString canonical = serialise(result.document);
    const ParseResult again = parse(canonical);
    if (again.has_errors() || !(again.document == result.document))
        __builtin_trap();
    if (serialise(again.document) != canonical)
        __builtin_trap();
    return 0;
}
