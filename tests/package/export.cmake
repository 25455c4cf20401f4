# Configures, builds and installs the exporter (a library that takes cnnprim through add_subdirectory and
# installs its own package) into BINARY_DIR/prefix, then builds and runs downstream/ against that prefix only.
# Run with cmake -P; SOURCE_DIR (tests/package), CNNPRIM_SOURCE_DIR, BINARY_DIR and CXX are given with -D.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE failed)
  if(failed)
    string(JOIN " " command ${ARGN})
    message(FATAL_ERROR "failed: ${command}")
  endif()
endfunction()
file(REMOVE_RECURSE ${BINARY_DIR})
set(common -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR}/exporter ${common} -DCNNPRIM_CONSUME=exporter
    -DCNNPRIM_SOURCE_DIR=${CNNPRIM_SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${BINARY_DIR}/exporter)
run(${CMAKE_COMMAND} -E env --unset=DESTDIR ${CMAKE_COMMAND} --install ${BINARY_DIR}/exporter --prefix ${BINARY_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/downstream -B ${BINARY_DIR}/downstream ${common}
    -DCMAKE_PREFIX_PATH=${BINARY_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${BINARY_DIR}/downstream)
run(${BINARY_DIR}/downstream/downstream)
