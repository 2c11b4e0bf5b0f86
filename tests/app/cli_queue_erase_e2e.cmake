# End-to-end: charaforge-cli queue add-erase and the worker on a tiny random LaMa generator (big-lama's key
# names): the queued erase equals `erase` on the same image; bad inputs are refused before anything is queued.
# Run by CTest: cmake -DCLI=... -DWORK=... -P cli_queue_erase_e2e.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/img" "${WORK}/out")
include(${CMAKE_CURRENT_LIST_DIR}/cli_e2e_common.cmake)

set(I "${WORK}/img")
set(L "${WORK}/lama.safetensors")
set(Q --queue "${WORK}/q.db")
run("${CLI}" lama make-test-model "${L}" --images "${I}")

# Refused, and no queue made: a mask of another size, a missing mask, an unknown strategy.
fails("^2$" "--mask: ${I}/extra/small-mask.png: 16x16 does not match the image ${I}/a.png \\(40x24\\)"
      queue add-erase --lama "${L}" --image "${I}/a.png" --mask "${I}/extra/small-mask.png" ${Q})
fails("^2$" "--mask: ${I}/none.png: no such file" queue add-erase --lama "${L}" --image "${I}/a.png"
      --mask "${I}/none.png" ${Q})
fails("^[1-9]" "strategy" queue add-erase --lama "${L}" --image "${I}/a.png" --mask "${I}/masks/a.png"
      --strategy stretch ${Q})
if(EXISTS "${WORK}/q.db")
  message(FATAL_ERROR "a refused queue add-erase created the queue")
endif()

# A folder of images with a folder of masks: three jobs; the worker runs them through the erase scheduler.
run("${CLI}" queue add-erase --lama "${L}" --image "${I}" --mask "${I}/masks" --out "${WORK}/out" ${Q})
if(NOT LAST_OUT MATCHES "queued 3 erase job\\(s\\): 1-3")
  message(FATAL_ERROR "queue add-erase:\n${LAST_OUT}")
endif()
run("${CLI}" queue list ${Q})
if(NOT LAST_OUT MATCHES "erase a.png" OR NOT LAST_OUT MATCHES "erase b.png")
  message(FATAL_ERROR "queue list:\n${LAST_OUT}")
endif()
run("${CLI}" worker --until-empty --device cpu ${Q})
if(NOT LAST_ERR MATCHES "model: ${L}" OR NOT LAST_ERR MATCHES "job 3 done: ${WORK}/out/c-erased-000003.png")
  message(FATAL_ERROR "worker:\n${LAST_ERR}")
endif()
run("${CLI}" queue list ${Q})
string(REGEX MATCHALL "done " done "${LAST_OUT}")
list(LENGTH done n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "queue list after the worker:\n${LAST_OUT}")
endif()

# The queue's image is the one-shot command's.
run("${CLI}" erase --lama "${L}" --image "${I}/b.png" --mask "${I}/masks/b.png" --device cpu --out "${WORK}/b-once.png")
# The pixels, not the files (the queue's carries its record): both erased once more by `erase`, which writes no
# record, give the same file only if they hold the same pixels.
run("${CLI}" erase --lama "${L}" --image "${WORK}/out/b-erased-000002.png" --mask "${I}/masks/b.png"
    --device cpu --out "${WORK}/b-twice-queue.png")
run("${CLI}" erase --lama "${L}" --image "${WORK}/b-once.png" --mask "${I}/masks/b.png" --device cpu
    --out "${WORK}/b-twice-once.png")
file(SHA256 "${WORK}/b-twice-queue.png" hq)
file(SHA256 "${WORK}/b-twice-once.png" ho)
if(NOT hq STREQUAL ho)
  message(FATAL_ERROR "the queued erase of b.png differs from erase's")
endif()
message(STATUS "queue add-erase and the worker ok")
