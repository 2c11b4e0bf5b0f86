# One INTERFACE target carries the language standard, warnings and Qt hygiene defines.
add_library(charaforge_settings INTERFACE)
target_compile_features(charaforge_settings INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(charaforge_settings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra>
  $<$<AND:$<CXX_COMPILER_ID:GNU,Clang>,$<BOOL:${CHARAFORGE_WERROR}>>:-Werror>)
# Qt's `slots`/`signals`/`emit` macros break torch headers; we write Q_SIGNALS/Q_SLOTS/Q_EMIT.
target_compile_definitions(charaforge_settings INTERFACE QT_NO_KEYWORDS)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

# Torch's own headers emit warnings we cannot fix; include them as system headers.
function(charaforge_link_torch target)
  target_link_libraries(${target} PRIVATE ${TORCH_LIBRARIES})
  target_include_directories(${target} SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_compile_options(${target} PRIVATE ${TORCH_CXX_FLAGS})
endfunction()

function(charaforge_torch_pch target)
  if(CHARAFORGE_USE_PCH)
    target_precompile_headers(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/engine/src/torch_pch.h)
  endif()
endfunction()
