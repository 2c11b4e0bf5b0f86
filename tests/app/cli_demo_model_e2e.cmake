# End-to-end: charaforge-cli generate (and, with Qt, queue add) without --model use the demo model that ships with
# the app and say so; sizes not given are its native size, a given one stays. Here the demo model is a stand-in
# (make-test-model plus a charaforge.json of kind "demo") that CHARAFORGE_DEMO_MODEL points at; without a usable
# demo model the test model is the fallback (Qt builds) and the reason is said; a remembered folder wins.
# Run by CTest: cmake -DCLI=... -DWORK=... -DENGINE_ONLY=... -P cli_demo_model_e2e.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
include(${CMAKE_CURRENT_LIST_DIR}/cli_e2e_common.cmake)

set(ENV{XDG_CACHE_HOME} "${WORK}/cache")
set(ENV{XDG_CONFIG_HOME} "${WORK}/config")
set(ENV{XDG_DATA_HOME} "${WORK}/data")
unset(ENV{CHARAFORGE_MODEL})
set(demo "${WORK}/demo")
run("${CLI}" make-test-model "${demo}")
file(WRITE "${demo}/charaforge.json"
     "{\"name\": \"stand-in\", \"kind\": \"demo\", \"licence\": \"test\", \"native_resolution\": 48}")
set(ENV{CHARAFORGE_DEMO_MODEL} "${demo}")

# The image's width and height: PNG's IHDR (Qt builds), the binary PPM header (engine-only).
function(expect_size file w h)
  if(ENGINE_ONLY)
    file(READ "${file}" head LIMIT 16)
    if(NOT head MATCHES "^P6\n${w} ${h}\n")
      message(FATAL_ERROR "${file} is not ${w}x${h}")
    endif()
  else()
    file(READ "${file}" ihdr OFFSET 16 LIMIT 8 HEX)
    string(SUBSTRING "${ihdr}" 0 8 hw)
    string(SUBSTRING "${ihdr}" 8 8 hh)
    math(EXPR gw "0x${hw}")
    math(EXPR gh "0x${hh}")
    if(NOT gw EQUAL w OR NOT gh EQUAL h)
      message(FATAL_ERROR "${file} is ${gw}x${gh}, expected ${w}x${h}")
    endif()
  endif()
endfunction()

set(gen generate --prompt "1girl, blue hair" --steps 1 --device cpu)
run("${CLI}" ${gen} --out "${WORK}/native.png")
string(FIND "${LAST_ERR}" "no --model given: using the built-in demo model ${demo} " at)
string(FIND "${LAST_ERR}" "model: ${demo} (the CharaForge demo model" at_model)
if(at LESS 0 OR at_model LESS 0 OR LAST_ERR MATCHES "test model")
  message(FATAL_ERROR "generate without --model did not say it uses the demo model:\n${LAST_ERR}")
endif()
expect_size("${WORK}/native.png" 48 48)
# A side given stays; the other is the model's.
run("${CLI}" ${gen} --width 64 --out "${WORK}/wide.png")
expect_size("${WORK}/wide.png" 64 48)
run("${CLI}" ${gen} --width 96 --height 32 --out "${WORK}/given.png")
expect_size("${WORK}/given.png" 96 32)
# --model naming the demo model: its native size too, and no "no --model given" line.
run("${CLI}" ${gen} --model "${demo}" --out "${WORK}/named.png")
expect_size("${WORK}/named.png" 48 48)
if(LAST_ERR MATCHES "no --model given")
  message(FATAL_ERROR "generate --model said no --model was given:\n${LAST_ERR}")
endif()

if(ENGINE_ONLY)
  # Without a demo model the engine-only tool has no model to use: a wrong command line naming --model.
  set(ENV{CHARAFORGE_DEMO_MODEL} "")
  fails("^2$" "--model: not given, and there is no demo model: give --model DIR" ${gen} --out "${WORK}/none.ppm")
  return()
endif()

# queue add: the same choice and size.
file(WRITE "${WORK}/prompt.txt" "1girl, solo")
set(Q --queue "${WORK}/q.db")
run("${CLI}" queue add "${WORK}/prompt.txt" --steps 1 --seed 1 --out "${WORK}/out" ${Q})
if(NOT LAST_ERR MATCHES "no --model given: using the built-in demo model ${demo} ")
  message(FATAL_ERROR "queue add without --model did not say it uses the demo model:\n${LAST_ERR}")
endif()
run("${CLI}" queue add "${WORK}/prompt.txt" --steps 1 --seed 2 --height 64 --out "${WORK}/out" ${Q})
run("${CLI}" queue list ${Q})
if(NOT LAST_OUT MATCHES "\n +1 +queued +0/1 +48x48 +1 " OR NOT LAST_OUT MATCHES "\n +2 +queued +0/1 +48x64 +2 ")
  message(FATAL_ERROR "queue add without sizes did not queue the demo model's 48x48 (a given height stays):\n${LAST_OUT}")
endif()

# An incomplete demo folder is passed over for the test model, and why is said.
file(REMOVE_RECURSE "${demo}/clip_model")
run("${CLI}" queue add "${WORK}/prompt.txt" --steps 1 --seed 3 --out "${WORK}/out" ${Q})
if(NOT LAST_ERR MATCHES "${demo} is not a usable demo model: .*Jina CLIP v2 text encoder: no .safetensors"
   OR NOT LAST_ERR MATCHES "no --model given: using the built-in test model ${WORK}/data/[^\n]*test-model \\(random weights")
  message(FATAL_ERROR "queue add with an incomplete demo model:\n${LAST_ERR}")
endif()
run("${CLI}" queue list ${Q})
if(NOT LAST_OUT MATCHES "\n +3 +queued +0/1 +1024x1024 +3 ")
  message(FATAL_ERROR "the test model's job is not NewBie's 1024x1024:\n${LAST_OUT}")
endif()

# No demo model (CHARAFORGE_DEMO_MODEL set and empty): the test model as before.
set(ENV{CHARAFORGE_DEMO_MODEL} "")
run("${CLI}" queue add "${WORK}/prompt.txt" --steps 1 --dry-run ${Q})
if(NOT LAST_ERR MATCHES "no --model given: using the built-in test model " OR LAST_ERR MATCHES "demo model")
  message(FATAL_ERROR "queue add without a demo model:\n${LAST_ERR}")
endif()

# A remembered folder (the window's File → Choose model folder…) wins over the demo model.
run("${CLI}" make-test-model "${demo}" --force)
set(ENV{CHARAFORGE_DEMO_MODEL} "${demo}")
run("${CLI}" make-test-model "${WORK}/chosen")
file(WRITE "${WORK}/config/CharaForge/charaforge.conf" "[model]\npath=${WORK}/chosen\n")
run("${CLI}" queue add "${WORK}/prompt.txt" --steps 1 --dry-run ${Q})
if(NOT LAST_ERR MATCHES "no --model given: using ${WORK}/chosen \\(test model" OR LAST_ERR MATCHES "built-in")
  message(FATAL_ERROR "queue add did not use the remembered folder:\n${LAST_ERR}")
endif()
