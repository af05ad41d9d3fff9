# The version and the git revision as generated headers, in place of compile
# definitions:
#   assignscope_version  (INTERFACE) <assignscope/version.h>: ASSIGNSCOPE_VERSION,
#                        written at configure time; for the library (JSON
#                        "tool.version", .npy "produced_by").
#   assignscope_revision (INTERFACE) <assignscope/revision.h>: ASSIGNSCOPE_REVISION,
#                        refreshed at every build (cmake/Revision.cmake); only
#                        `assignscope --version` shows it, so a new commit
#                        recompiles one file.
set(ASSIGNSCOPE_GENERATED_DIR ${PROJECT_BINARY_DIR}/generated)
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in ${ASSIGNSCOPE_GENERATED_DIR}/assignscope/version.h @ONLY)
add_library(assignscope_version INTERFACE)
target_include_directories(assignscope_version INTERFACE ${ASSIGNSCOPE_GENERATED_DIR})

find_package(Git QUIET)
add_custom_target(assignscope_revision_header
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DGIT_EXECUTABLE=${GIT_EXECUTABLE}
          -DREVISION_IN=${CMAKE_CURRENT_LIST_DIR}/revision.h.in
          -DREVISION_OUT=${ASSIGNSCOPE_GENERATED_DIR}/assignscope/revision.h
          -P ${CMAKE_CURRENT_LIST_DIR}/Revision.cmake
  BYPRODUCTS ${ASSIGNSCOPE_GENERATED_DIR}/assignscope/revision.h
  COMMENT "" VERBATIM)
add_library(assignscope_revision INTERFACE)
target_link_libraries(assignscope_revision INTERFACE assignscope_version)
add_dependencies(assignscope_revision assignscope_revision_header)
