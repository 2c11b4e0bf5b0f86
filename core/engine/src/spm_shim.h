#pragma once
// C interface of libcharaforge_spm, the bridge through which the engine uses SentencePiece.
//
// Why a bridge: Debian's libsentencepiece bundles protobuf 3.14 and exports those symbols, while Debian's
// LibTorch loads the system libprotobuf (3.21). Linked into one process the two runtimes bind to each
// other's symbols and the process aborts ("compiled against version 3.14.0 of the Protocol Buffer runtime
// library, which is not compatible with the installed version (3.21.12)"). The bridge is a small module
// linked against libsentencepiece that the engine loads with dlmopen(LM_ID_NEWLM): a separate link-map
// namespace with its own libstdc++/libc, in which sentencepiece binds protobuf to its own copy and which
// the rest of the process never sees. (RTLD_DEEPBIND is not enough: sentencepiece then writes to an
// uninitialised std::cerr, because the executable holds the copy-relocated one.) Nothing else in the
// engine links libsentencepiece.
//
// Plain C types only; no exception crosses the boundary. Buffers returned by the bridge are malloc()ed by
// the namespace's own libc and must be released with free_buffer(), never with free(). Errors are reported as NULL/-1 plus a message in `err`.
#include <cstddef>

extern "C" {

inline constexpr int kCfSpmAbiVersion = 1;

struct CfSpmApi {
    int abi_version;
    // A model from a file path (is_path != 0) or from serialized bytes; NULL on error.
    void* (*load)(const char* data, std::size_t size, int is_path, char* err, std::size_t err_size);
    void (*free_model)(void* model);
    // Piece ids of `text`; *count receives their number. NULL on error.
    int* (*encode)(void* model, const char* text, std::size_t size, std::size_t* count, char* err,
                   std::size_t err_size);
    // UTF-8 text of `ids`; *size receives its length. NULL on error.
    char* (*decode)(void* model, const int* ids, std::size_t count, std::size_t* size, char* err, std::size_t err_size);
    int (*piece_size)(void* model);
    int (*special_id)(void* model, int which); // 0 unk, 1 bos, 2 eos, 3 pad (-1 when absent)
    int (*is_byte)(void* model, int id);
    // Trains a model on in-memory lines with trainer options given as key/value strings; returns the
    // serialized model (*size bytes). NULL on error.
    char* (*train)(const char* const* keys, const char* const* values, std::size_t option_count,
                   const char* const* lines, const std::size_t* line_sizes, std::size_t line_count, std::size_t* size,
                   char* err, std::size_t err_size);
    void (*free_buffer)(void* buffer);
};

// The only exported symbol of the bridge.
const CfSpmApi* charaforge_spm_api(int abi_version);
typedef const CfSpmApi* (*CfSpmApiEntry)(int abi_version);
}
