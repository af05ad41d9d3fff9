# Script mode (cmake -P), run at every build by the assignscope_revision
# target: writes REVISION_OUT from REVISION_IN with ASSIGNSCOPE_REVISION set to
# `git describe --always --dirty` of SOURCE_DIR, or "unknown revision" when
# git or the repository is absent (a source tarball, a package build).
# configure_file leaves the header untouched when the text is the same, so
# only a new revision recompiles what includes it (cmd/assignscope/main.cpp).
set(ASSIGNSCOPE_REVISION "unknown revision")
if(GIT_EXECUTABLE AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE failed ERROR_QUIET)
  if(NOT failed AND described)
    set(ASSIGNSCOPE_REVISION "git ${described}")
  endif()
endif()
configure_file("${REVISION_IN}" "${REVISION_OUT}" @ONLY)
