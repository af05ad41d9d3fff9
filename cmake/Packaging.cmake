# Installing and packaging: included at the end of CMakeLists.txt.
#
#   cmake --install build --prefix /usr/local   # or DESTDIR=... cmake --install build
#   (cd build && cpack -G DEB)                  # assignscope_<version>_<arch>.deb
#
# What is installed (GNUInstallDirs, relative to the prefix):
#   bin/assignscope
#   lib/python3/dist-packages/assignscope_{hooks,dump}.py   the modules users
#       import (docs/integrations.md); Debian's python3 finds them there under
#       /usr (the package); under another prefix put that directory on PYTHONPATH.
#       ASSIGNSCOPE_PYTHON_INSTALL_DIR changes it.
#   share/doc/assignscope/  README.md, LICENSE, CONTRIBUTING.md, docs/ (with img/)
include(GNUInstallDirs)

set(ASSIGNSCOPE_PYTHON_INSTALL_DIR "lib/python3/dist-packages" CACHE STRING
    "Where the Python dump helpers are installed, relative to the prefix")

install(TARGETS assignscope RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/tools/python/assignscope_hooks.py
              ${PROJECT_SOURCE_DIR}/tools/python/assignscope_dump.py
        DESTINATION ${ASSIGNSCOPE_PYTHON_INSTALL_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CONTRIBUTING.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# cpack -G DEB. The binary links libfmt, zlib, libstdc++ and libc
# dynamically: dpkg-shlibdeps (dpkg-dev) computes the Depends line from it;
# without dpkg-shlibdeps the packages are listed by hand (Debian 12 names).
set(CPACK_PACKAGE_NAME assignscope)
set(CPACK_PACKAGE_VENDOR "the assignscope authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "replay object-detector label assigners on dumped tensors")
set(CPACK_PACKAGE_DESCRIPTION
    "assignscope replays the label assigners of object detectors (SimOTA, RTMDet's dynamic soft label, ATSS, \
TOOD's task-aligned assigner and more) on tensors dumped from training, exactly as the reference framework \
computes them, and shows, compares and checks the result. Python helpers to dump from mmdetection, mmyolo, \
YOLOX and ultralytics are included.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "the assignscope authors <assignscope@invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-numpy")
find_program(ASSIGNSCOPE_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(ASSIGNSCOPE_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libfmt9, libgcc-s1, libstdc++6, zlib1g")
endif()
include(CPack)
