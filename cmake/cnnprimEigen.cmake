# Finds the Eigen cnnprim supports, 3.4 or 5.x (the headers check the same range), unless the project
# already has an Eigen3::Eigen target. Eigen 5's version file understands a range; Eigen 3.4's accepts only
# its own major version, so it is asked for alone when the range finds nothing.
if(NOT TARGET Eigen3::Eigen)
  find_package(Eigen3 3.4...<6 QUIET NO_MODULE)
  if(NOT Eigen3_FOUND)
    find_package(Eigen3 3.4 QUIET NO_MODULE)
  endif()
endif()
set(CNNPRIM_EIGEN_MISSING "cnnprim needs Eigen 3.4 or 5.x (Debian: apt-get install libeigen3-dev); \
point CMAKE_PREFIX_PATH or Eigen3_DIR at its installed CMake package")
