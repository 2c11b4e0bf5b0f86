# charaforge-bench --throughput on the CPU with the tiny test model: two workers share the queued images (each takes
# batches as it is free), every image is sampled once, and the record states images per minute and each device.
# Run by CTest: cmake -DBENCH=... -DCLI=... -DWORK=... -P bench_throughput.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${CLI}" make-test-model "${WORK}/model" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make-test-model failed: ${err}")
endif()
execute_process(COMMAND "${BENCH}" --model "${WORK}/model" --device cpu --dtype fp32 --throughput 7 --batch 2 --sizes 64
                        --e2e-steps 2 --devices cpu,cpu --out "${WORK}/t.json"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
if(NOT rc EQUAL 0 OR NOT out MATCHES "throughput: 7 images of 64\\^2, 2 Euler steps, CFG, batch 2, on 2 device\\(s\\): ")
  message(FATAL_ERROR "charaforge-bench --throughput (${rc}):\n${out}\n${err}")
endif()
file(READ "${WORK}/t.json" json)
string(JSON devices LENGTH "${json}" devices)
string(JSON first GET "${json}" devices 0 images)
string(JSON second GET "${json}" devices 1 images)
string(JSON per_minute GET "${json}" images_per_minute)
math(EXPR total "${first} + ${second}")
if(NOT devices EQUAL 2 OR NOT total EQUAL 7 OR NOT per_minute GREATER 0)
  message(FATAL_ERROR "the record: ${devices} devices, ${first} + ${second} images, ${per_minute} per minute:\n${json}")
endif()
message(STATUS "throughput mode ok: ${first} + ${second} images, ${per_minute} per minute")
