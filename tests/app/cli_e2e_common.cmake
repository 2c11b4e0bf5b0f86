# Helpers of the charaforge-cli end-to-end scripts (included by cli_e2e.cmake and cli_gallery_e2e.cmake).

# A command that must succeed; its output in LAST_OUT and LAST_ERR.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
  set(LAST_ERR "${err}" PARENT_SCOPE)
endfunction()

# A charaforge-cli command expected to fail: exit status matching `rc_regex`, stderr matching `expected`.
function(fails rc_regex expected)
  execute_process(COMMAND "${CLI}" ${ARGN} TIMEOUT 120 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc MATCHES "${rc_regex}" OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "expected exit ${rc_regex} and '${expected}' (got ${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
  set(LAST_ERR "${err}" PARENT_SCOPE)
endfunction()
