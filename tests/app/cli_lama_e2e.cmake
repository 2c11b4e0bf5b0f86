# End-to-end: charaforge-cli lama make-test-model / convert and erase (one image, many, hostile inputs) on a tiny
# random generator with big-lama's key names, written as a big-lama.pt-like TorchScript archive and as safetensors.
# Run by CTest: cmake -DCLI=... -DWORK=... -P cli_lama_e2e.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/img" "${WORK}/out" "${WORK}/batch")
function(run)
  execute_process(COMMAND "${CLI}" ${ARGN} TIMEOUT 120 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_ERR "${err}" PARENT_SCOPE)
endfunction()
# A command expected to fail: exit status `want`, stderr containing `expected` (a plain string).
function(fails want expected)
  execute_process(COMMAND "${CLI}" ${ARGN} TIMEOUT 120 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${err}" "${expected}" at)
  if(NOT rc EQUAL want OR at EQUAL -1)
    message(FATAL_ERROR "expected exit ${want} and '${expected}' (got ${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
function(same a b)
  file(SHA256 "${a}" ha)
  file(SHA256 "${b}" hb)
  if(NOT ha STREQUAL hb)
    message(FATAL_ERROR "${a} and ${b} differ")
  endif()
endfunction()

set(I "${WORK}/img")
run(lama make-test-model "${WORK}/tiny.pt" --images "${I}")
run(lama make-test-model "${WORK}/tiny-direct.safetensors")

# The MD5 check: the message names the file, its own hash and big-lama.pt's; nothing is written.
file(MD5 "${WORK}/tiny.pt" tiny_md5)
fails(1 "${WORK}/tiny.pt: MD5 ${tiny_md5}" lama convert "${WORK}/tiny.pt" "${WORK}/tiny.safetensors")
fails(1 "e3aa4aaa15225a33ec84f9f4bc47e500" lama convert "${WORK}/tiny.pt" "${WORK}/tiny.safetensors")
if(EXISTS "${WORK}/tiny.safetensors")
  message(FATAL_ERROR "a refused convert wrote its output")
endif()
fails(1 "MD5 ${tiny_md5}" erase --lama "${WORK}/tiny.pt" --image "${I}/a.png" --mask "${I}/masks/a.png"
      --out "${WORK}/out/a.png")
run(lama convert --skip-md5 "${WORK}/tiny.pt" "${WORK}/tiny.safetensors")

# One image: the .pt, its converted copy and the directly written safetensors give the same file.
set(one --image "${I}/a.png" --mask "${I}/masks/a.png" --device cpu)
run(erase --lama "${WORK}/tiny.pt" --skip-md5 ${one} --out "${WORK}/out/a-pt.png")
run(erase --lama "${WORK}/tiny.safetensors" ${one} --out "${WORK}/out/a-st.png")
run(erase --lama "${WORK}/tiny-direct.safetensors" ${one} --out "${WORK}/out/a-direct.png")
same("${WORK}/out/a-pt.png" "${WORK}/out/a-st.png")
same("${WORK}/out/a-pt.png" "${WORK}/out/a-direct.png")
file(SHA256 "${I}/a.png" input_hash)
file(SHA256 "${WORK}/out/a-pt.png" output_hash)
if(input_hash STREQUAL output_hash)
  message(FATAL_ERROR "erase returned its input unchanged")
endif()
foreach(strategy original resize crop)
  run(erase --lama "${WORK}/tiny.safetensors" ${one} --strategy ${strategy} --out "${WORK}/out/a-${strategy}.png")
endforeach()
# A soft mask is thresholded (>= 127 is a hole), not refused.
run(erase --lama "${WORK}/tiny.safetensors" --image "${I}/a.png" --mask "${I}/extra/soft-mask.png"
    --out "${WORK}/out/a-soft.png")
# The grey level decides, as IOPaint reads masks (IMREAD_GRAYSCALE): pure red is 76, no hole, the image unchanged.
run(erase --lama "${WORK}/tiny.safetensors" --image "${I}/a.png" --mask "${I}/extra/red-mask.png"
    --out "${WORK}/out/a-red.png")
same("${I}/a.png" "${WORK}/out/a-red.png")

# Many images: a folder with a mask folder through the scheduler (a.png and c.png share a bucket); each result
# equals its single-image run; a progress line counts them.
run(erase --lama "${WORK}/tiny.safetensors" --image "${I}" --mask "${I}/masks" --out "${WORK}/batch" --device cpu)
if(NOT LAST_ERR MATCHES "erase: 3/3 images")
  message(FATAL_ERROR "no progress line:\n${LAST_ERR}")
endif()
foreach(name a b c)
  run(erase --lama "${WORK}/tiny.safetensors" --image "${I}/${name}.png" --mask "${I}/masks/${name}.png"
      --out "${WORK}/out/${name}-single.png")
  same("${WORK}/batch/${name}.png" "${WORK}/out/${name}-single.png")
endforeach()
file(MAKE_DIRECTORY "${WORK}/batch2")
run(erase --lama "${WORK}/tiny.safetensors" --image "${I}/a.png" --image "${I}/c.png" --mask "${I}/masks/a.png"
    --mask "${I}/masks/c.png" --out "${WORK}/batch2" --batch 2)
same("${WORK}/batch2/c.png" "${WORK}/out/c-single.png")
# One mask for a folder of images of its size, --model as --lama's other name, --max-wait-ms; mask folders pair
# by name, else by stem + .png.
file(MAKE_DIRECTORY "${WORK}/ac" "${WORK}/batch3" "${WORK}/stem-masks" "${WORK}/batch4")
file(COPY "${I}/a.png" "${I}/c.png" DESTINATION "${WORK}/ac")
run(erase --model "${WORK}/tiny.safetensors" --image "${WORK}/ac" --mask "${I}/masks/a.png" --out "${WORK}/batch3"
    --max-wait-ms 0)
same("${WORK}/batch3/a.png" "${WORK}/out/a-single.png")
file(COPY "${WORK}/ac/c.png" DESTINATION "${WORK}/ac-renamed")
file(RENAME "${WORK}/ac-renamed/c.png" "${WORK}/ac-renamed/c.PNG")
run(erase --lama "${WORK}/tiny.safetensors" --image "${WORK}/ac-renamed" --mask "${I}/masks" --out "${WORK}/batch4")
same("${WORK}/batch4/c.PNG" "${WORK}/out/c-single.png")

# Hostile inputs, all refused before the model loads (exit 2) or on loading (exit 1), naming the file.
set(st --lama "${WORK}/tiny.safetensors")
fails(2 "--mask: ${I}/extra/small-mask.png: 16x16 does not match the image ${I}/a.png (40x24)"
      erase ${st} --image "${I}/a.png" --mask "${I}/extra/small-mask.png" --out "${WORK}/out/x.png")
fails(2 "--out: ${WORK}/out: is a folder" erase ${st} --image "${I}/a.png" --mask "${I}/masks/a.png"
      --out "${WORK}/out")
fails(2 "--out: ${WORK}/missing/x.png" erase ${st} --image "${I}/a.png" --mask "${I}/masks/a.png"
      --out "${WORK}/missing/x.png")
fails(2 "--image: ${WORK}/nothing.png: no such file" erase ${st} --image "${WORK}/nothing.png"
      --mask "${I}/masks/a.png" --out "${WORK}/out/x.png")
fails(2 "--mask: ${WORK}/nothing.png: no such file" erase ${st} --image "${I}/a.png" --mask "${WORK}/nothing.png"
      --out "${WORK}/out/x.png")
fails(2 "--mask: 2 masks given for 3 images" erase ${st} --image "${I}/a.png" --image "${I}/c.png"
      --image "${I}/b.png" --mask "${I}/masks/a.png" --mask "${I}/masks/c.png" --out "${WORK}/batch2")
fails(2 "--mask: ${I}/masks/a.png: 40x24 does not match the image ${I}/b.png (64x48)" erase ${st} --image "${I}"
      --mask "${I}/masks/a.png" --out "${WORK}/batch2")
fails(2 "--out: ${WORK}/out/x.png: with several images --out must be an existing folder" erase ${st} --image "${I}"
      --mask "${I}/masks" --out "${WORK}/out/x.png")
fails(2 "--mask: ${I}/masks/red-mask.png: no mask for ${I}/extra/red-mask.png" erase ${st} --image "${I}" --image "${I}/extra" --mask "${I}/masks"
      --out "${WORK}/batch")
file(WRITE "${WORK}/not.png" "not a png")
fails(2 "${WORK}/not.png" erase ${st} --image "${WORK}/not.png" --mask "${I}/masks/a.png" --out "${WORK}/out/x.png")
fails(2 "--strategy" erase ${st} --image "${I}/a.png" --mask "${I}/masks/a.png" --out "${WORK}/out/x.png"
      --strategy tiles)
fails(2 "--device: 'bogus' is not a device" erase ${st} --image "${I}/a.png" --mask "${I}/masks/a.png"
      --out "${WORK}/out/x.png" --device bogus)
# Not a LaMa generator: another model's safetensors names the file and the missing key.
run(make-test-model "${WORK}/model")
set(other "${WORK}/model/transformer/diffusion_pytorch_model.safetensors")
fails(1 "${other}" erase --lama "${other}" --image "${I}/a.png" --mask "${I}/masks/a.png" --out "${WORK}/out/x.png")
fails(1 "${other}" lama convert --skip-md5 "${other}" "${WORK}/x.safetensors")
