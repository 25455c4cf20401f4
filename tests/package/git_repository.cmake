# Publishes the library's files as a git repository: a commit tagged TAG, cloned bare into REPOSITORY, the
# way a consumer's FetchContent finds a release. Run with cmake -P; GIT, SOURCE_DIR, REPOSITORY, TAG and
# CONSUMER_DIR (the consumer's build, whose clone of an earlier commit with the same tag would be kept) are
# given with -D.
function(git)
  execute_process(COMMAND ${GIT} -c user.name=cnnprim -c user.email=cnnprim@localhost -c init.defaultBranch=main
                          ${ARGN} WORKING_DIRECTORY ${work} RESULT_VARIABLE failed OUTPUT_QUIET)
  if(failed)
    message(FATAL_ERROR "git ${ARGN} failed")
  endif()
endfunction()
set(work ${REPOSITORY}.work)
file(REMOVE_RECURSE ${work} ${REPOSITORY} ${CONSUMER_DIR})
file(MAKE_DIRECTORY ${work})
file(COPY ${SOURCE_DIR}/include ${SOURCE_DIR}/cmake ${SOURCE_DIR}/CMakeLists.txt ${SOURCE_DIR}/LICENSE
          ${SOURCE_DIR}/README.md DESTINATION ${work})
git(init --quiet)
git(add --all)
git(commit --quiet -m "cnnprim ${TAG}")
git(tag ${TAG})
git(clone --quiet --bare ${work} ${REPOSITORY})
