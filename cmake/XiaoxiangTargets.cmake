# Helpers that give every layer of xiaoxiang the same shape: one static
# library per layer (xiaoxiang_<layer>) that links only the layers below it,
# so the dependency direction of DESIGN.md is enforced by the linker too.

# Warnings (as errors) and sanitizers live on private targets that only our
# own libraries, tests and benchmarks link; a host's build never sees them.
add_library(xiaoxiang_warnings INTERFACE)
target_compile_options(xiaoxiang_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Werror>)

add_library(xiaoxiang_sanitize INTERFACE)
if(XIAOXIANG_FUZZ)
  # Coverage instrumentation for libFuzzer on every library the targets link.
  target_compile_options(xiaoxiang_sanitize INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(xiaoxiang_sanitize INTERFACE -fsanitize=address,undefined)
elseif(XIAOXIANG_SANITIZE)
  target_compile_options(xiaoxiang_sanitize INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(xiaoxiang_sanitize INTERFACE -fsanitize=address,undefined)
endif()

# xiaoxiang_add_layer(<layer> [DEPS layer...] [PUBLIC_LIBS lib...] [PRIVATE_LIBS lib...]
#                     [HEADER_LIBS lib...])
# HEADER_LIBS are header-only dependencies used inside src/ only (Boost,
# cereal): they are not part of the installed package's interface.
# Sources are src/<layer>/*.cpp; a layer without sources is header-only.
function(xiaoxiang_add_layer layer)
  cmake_parse_arguments(L "" "" "DEPS;PUBLIC_LIBS;PRIVATE_LIBS;HEADER_LIBS" ${ARGN})
  set(target xiaoxiang_${layer})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${layer}/*.cpp)
  if(sources)
    add_library(${target} STATIC ${sources})
    set(scope PUBLIC)
    target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:xiaoxiang_warnings>
                                            $<BUILD_INTERFACE:xiaoxiang_sanitize>)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(xiaoxiang::${layer} ALIAS ${target})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_20)
  foreach(dep IN LISTS L_DEPS)
    target_link_libraries(${target} ${scope} xiaoxiang_${dep})
  endforeach()
  if(L_PUBLIC_LIBS)
    target_link_libraries(${target} ${scope} ${L_PUBLIC_LIBS})
  endif()
  # Private dependencies matter only to a layer with sources to compile.
  if(sources)
    if(L_PRIVATE_LIBS)
      target_link_libraries(${target} PRIVATE ${L_PRIVATE_LIBS})
    endif()
    foreach(lib IN LISTS L_HEADER_LIBS)
      target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:${lib}>)
    endforeach()
  endif()
  if(XIAOXIANG_INSTALL)
    install(TARGETS ${target} EXPORT xiaoxiang-targets
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  endif()
  set_property(GLOBAL APPEND PROPERTY XIAOXIANG_LAYERS ${target})
endfunction()

# xiaoxiang_add_test_suite(<area> LIBS target...): tests/<area>/*_test.cpp
# become one GoogleTest program test_<area>, registered with CTest label unit.
function(xiaoxiang_add_test_suite area)
  cmake_parse_arguments(T "" "" "LIBS;LABELS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${area}/*_test.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(test_${area} ${sources})
  target_link_libraries(test_${area} PRIVATE ${T_LIBS} xiaoxiang_test_support
                        GTest::gtest GTest::gtest_main xiaoxiang_warnings xiaoxiang_sanitize)
  target_compile_definitions(test_${area} PRIVATE
    XIAOXIANG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    XIAOXIANG_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(test_${area} DISCOVERY_TIMEOUT 60)
  # `make test-asan` builds only these programs (target xiaoxiang_unit_tests),
  # not the CLI, bindings, benchmarks and integration programs it never runs.
  if(NOT TARGET xiaoxiang_unit_tests)
    add_custom_target(xiaoxiang_unit_tests)
  endif()
  add_dependencies(xiaoxiang_unit_tests test_${area})
  # Labels through a script run after discovery: gtest_discover_tests
  # (CMake 3.25) writes a list-valued PROPERTIES entry unquoted, so every
  # label but the first would become a property name.
  set(label_script "${CMAKE_CURRENT_BINARY_DIR}/test_${area}_labels.cmake")
  file(WRITE "${label_script}"
       "if(test_${area}_TESTS)\n"
       "  set_tests_properties(\${test_${area}_TESTS} PROPERTIES LABELS \"unit;${area};${T_LABELS}\")\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${label_script}")
endfunction()
