#pragma once
// SentencePiece models are checked in a child process before the engine loads them.
//
// libsentencepiece trusts the tables inside a model file: a damaged or hostile normalisation table
// (precompiled_charsmap) makes it read wild memory and the process dies with SIGSEGV, at every start, in
// every worker and in the studio. What the library does with a table cannot be validated from outside
// without reimplementing it, so the first load of a model's bytes happens in `charaforge-spm-probe`, a
// short-lived process that loads them and encodes every BMP code point. The verdict is cached by the
// SHA-256 of the bytes (in this process, and on disk under $XDG_CACHE_HOME/charaforge/sentencepiece-checks),
// so a file is probed once, not at every start. Torch-free.
#include <string>

namespace charaforge::engine {

// Throws EngineError "<what>: <source>: ..." when the probe rejects `bytes`, crashes on them, runs out of
// time, or cannot be run. `source` names where the bytes came from (a file path, or "the spiece_model
// tensor of <file>").
void check_sentencepiece_model(const std::string& what, const std::string& source, const std::string& bytes);

// The probe executable that check_sentencepiece_model runs: $CHARAFORGE_SPM_PROBE alone when set; else beside the
// executable, in ../lib/charaforge or ../libexec/charaforge from it, then the build-tree path compiled in;
// throws EngineError listing the places tried when there is none.
std::string sentencepiece_probe_path();

} // namespace charaforge::engine
