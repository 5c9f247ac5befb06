# Finds what the Python bindings need: Debian's /usr/bin/python3 (or
# -DPython_EXECUTABLE=...) with its development files, and pybind11's CMake
# package (pybind11-dev). Sets XIAOXIANG_PYTHON_DEFAULT, the default of
# XIAOXIANG_BUILD_PYTHON: ON for the top-level project when both are found,
# except in sanitizer and fuzz builds (a Python interpreter would have to
# preload the ASan runtime).
set(XIAOXIANG_PYTHON_DEFAULT OFF)
if(NOT DEFINED Python_EXECUTABLE AND EXISTS /usr/bin/python3)
  # Not the python3 on PATH: that may be a pyenv build without NumPy.
  set(Python_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the bindings are built for")
endif()
if(XIAOXIANG_MASTER_PROJECT AND NOT XIAOXIANG_SANITIZE AND NOT XIAOXIANG_FUZZ)
  find_package(Python 3.8 QUIET COMPONENTS Interpreter Development.Module)
  if(Python_FOUND)
    set(PYBIND11_FINDPYTHON ON)
    find_package(pybind11 2.6 CONFIG QUIET)
    if(pybind11_FOUND)
      set(XIAOXIANG_PYTHON_DEFAULT ON)
    endif()
  endif()
endif()
