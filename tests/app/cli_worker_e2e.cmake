# End-to-end: what charaforge-cli worker and generate say. The worker names the model each batch opens (and
# says when it is a test model); model files are hashed for the image records with one line, once per file
# version (not again for the next batch, worker or generate); an output folder that cannot be made is refused
# by queue add before anything is queued or sampled; worker --devices names a wrong device before anything starts.
# Run by CTest: cmake -DCLI=... -DWORK=... -P cli_worker_e2e.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
include(${CMAKE_CURRENT_LIST_DIR}/cli_e2e_common.cmake)

set(ENV{XDG_CACHE_HOME} "${WORK}/cache")
run("${CLI}" make-test-model "${WORK}/model")
file(WRITE "${WORK}/prompt.txt" "1girl, solo")
set(Q --queue "${WORK}/q.db")
set(add queue add "${WORK}/prompt.txt" --model "${WORK}/model" --height 48 --steps 2 --seed 7 ${Q})

file(WRITE "${WORK}/a-file" "x")
fails("^2$" "--out: ${WORK}/a-file/img: ${WORK}/a-file is not a folder" ${add} --width 64 --out "${WORK}/a-file/img")
fails("^2$" "--out: ${WORK}/a-file: exists and is not a folder" ${add} --width 64 --out "${WORK}/a-file")
if(EXISTS "${WORK}/q.db")
  message(FATAL_ERROR "queue add with an impossible --out created the queue")
endif()

function(count_matches text regex var)
  string(REGEX MATCHALL "${regex}" found "${text}")
  list(LENGTH found n)
  set(${var} ${n} PARENT_SCOPE)
endfunction()

# Two sizes: two batches of one model.
run("${CLI}" ${add} --width 64 --out "${WORK}/img")
run("${CLI}" ${add} --width 80 --out "${WORK}/img")
run("${CLI}" worker --until-empty --device cpu ${Q})
count_matches("${LAST_ERR}" "hashing [^\n]*\\(once\\)" hashing)
count_matches("${LAST_ERR}" "\n  model: ${WORK}/model \\(test model: random weights, images are noise\\)\n" models)
if(NOT hashing EQUAL 1 OR NOT models EQUAL 1 OR NOT LAST_ERR MATCHES
   "hashing 4 model files for the image records \\(once\\): transformer/diffusion_pytorch_model.safetensors, vae/diffusion_pytorch_model.safetensors, text_encoder/model.safetensors, clip_model/model.safetensors\n")
  message(FATAL_ERROR "worker (${hashing} hashing lines, ${models} model lines):\n${LAST_ERR}")
endif()
if(LAST_ERR MATCHES "jobs queued without --model use the built-in test model")
  message(FATAL_ERROR "the worker says jobs without --model use the built-in model (CHARAFORGE_MODEL or the window's come first):\n${LAST_ERR}")
endif()
run("${CLI}" ${add} --width 96 --out "${WORK}/img")
run("${CLI}" worker --until-empty --device cpu ${Q})
if(LAST_ERR MATCHES "hashing" OR NOT LAST_ERR MATCHES "model: ${WORK}/model \\(test model")
  message(FATAL_ERROR "the next worker on the queue:\n${LAST_ERR}")
endif()

set(gen generate --model "${WORK}/model" --prompt "1girl" --width 64 --height 64 --steps 2 --device cpu)
run("${CLI}" ${gen} --out "${WORK}/one.png")
count_matches("${LAST_ERR}" "hashing [^\n]*\\(once\\)" hashing)
if(NOT hashing EQUAL 1)
  message(FATAL_ERROR "the first generate (${hashing} hashing lines):\n${LAST_ERR}")
endif()
run("${CLI}" ${gen} --out "${WORK}/two.png")
if(LAST_ERR MATCHES "hashing")
  message(FATAL_ERROR "the second generate hashed the model again:\n${LAST_ERR}")
endif()
# worker --devices: the whole list is checked before any queue is opened or model loaded (this machine has no GPU).
set(NQ --queue "${WORK}/never.db")
fails("^2$" "--devices: all: no CUDA device is available \\(run one worker on the CPU with --device cpu\\)"
      worker --until-empty --devices all ${NQ})
fails("^2$" "--devices: cuda:0 is listed twice" worker --devices cuda:0,cuda:0 ${NQ})
fails("^2$" "--devices: 'gpu' \\(entry 2\\) is not a CUDA device: use cuda:N" worker --devices cuda:0,gpu ${NQ})
fails("^2$" "--devices: cuda:1: no CUDA device is available" worker --devices cuda:1 ${NQ})
fails("^2$" "excludes" worker --device cpu --devices all ${NQ})
if(EXISTS "${WORK}/never.db")
  message(FATAL_ERROR "a worker with a wrong --devices created its queue")
endif()

# The output folder goes away after queue add. Deleted, it is made again and the job is done; replaced by a
# file (a folder that cannot be made), the job fails naming the folder and `worker --until-empty` ends: it
# used to put the job back in the queue and claim it again for ever.
set(R --queue "${WORK}/vanish.db")
run("${CLI}" queue add "${WORK}/prompt.txt" --model "${WORK}/model" --width 64 --height 48 --steps 2 --seed 3
    --out "${WORK}/deleted/img" ${R})
run("${CLI}" queue add "${WORK}/prompt.txt" --model "${WORK}/model" --width 64 --height 48 --steps 2 --seed 4
    --out "${WORK}/replaced/img" ${R})
file(REMOVE_RECURSE "${WORK}/deleted" "${WORK}/replaced")
file(WRITE "${WORK}/replaced" "not a folder")
execute_process(COMMAND "${CLI}" worker --until-empty --device cpu ${R} TIMEOUT 120 RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "worker --until-empty with a vanished output folder (exit ${rc}, 'Process terminated due to timeout' is the hang):\n${out}\n${err}")
endif()
if(NOT err MATCHES "job 2 failed: the output folder ${WORK}/replaced/img: ${WORK}/replaced is not a folder\n")
  message(FATAL_ERROR "the worker did not fail job 2 naming its folder:\n${err}")
endif()
if(NOT EXISTS "${WORK}/deleted/img/charaforge-000001-3.png")
  message(FATAL_ERROR "the deleted output folder was not made again for job 1:\n${err}")
endif()
run("${CLI}" queue list ${R})
if(NOT LAST_OUT MATCHES "\n +2  failed  [^\n]*the output folder ${WORK}/replaced/img: ")
  message(FATAL_ERROR "queue list does not show job 2 failed with its folder:\n${LAST_OUT}")
endif()
message(STATUS "worker and generate messages ok")
