# The live page (web/): installs its npm packages into the build tree and
# bundles it with esbuild into ${XIAOXIANG_WEB_ROOT}, the folder that
# `xiaoxiang serve --web-root` serves. Nothing of it is written into the
# source tree. Needs npm (and the npm registry, or a warm npm cache) at
# build time; without npm the option is off and the server runs without a
# page.

find_program(XIAOXIANG_NPM npm)
find_program(XIAOXIANG_NODE node)

set(_xiaoxiang_web_default OFF)
# Only for our own build: a host embedding xiaoxiang never runs npm, and the
# sanitizer / fuzz builds have no use for a page.
if(XIAOXIANG_MASTER_PROJECT AND XIAOXIANG_NPM AND XIAOXIANG_NODE
   AND NOT XIAOXIANG_SANITIZE AND NOT XIAOXIANG_FUZZ)
  set(_xiaoxiang_web_default ON)
endif()
option(XIAOXIANG_BUILD_WEB "Build the live page with npm + esbuild (web/)" ${_xiaoxiang_web_default})

# Where the built page lands; serve it with --web-root.
set(XIAOXIANG_WEB_DIR ${PROJECT_BINARY_DIR}/web)
set(XIAOXIANG_WEB_ROOT ${XIAOXIANG_WEB_DIR}/dist)
set(XIAOXIANG_WEB_MODULES ${XIAOXIANG_WEB_DIR}/node_modules)

if(XIAOXIANG_BUILD_WEB)
  if(NOT XIAOXIANG_NPM OR NOT XIAOXIANG_NODE)
    message(FATAL_ERROR "XIAOXIANG_BUILD_WEB needs npm and node (apt-get install nodejs npm)")
  endif()
  set(web_src ${PROJECT_SOURCE_DIR}/web)
  set(stamp ${XIAOXIANG_WEB_DIR}/npm-install.stamp)
  if(EXISTS ${web_src}/package-lock.json)
    # The lock file pins every package: a clean, reproducible install.
    set(install_command ${XIAOXIANG_NPM} ci)
    set(lock ${web_src}/package-lock.json)
  else()
    set(install_command ${XIAOXIANG_NPM} install)
    set(lock)
  endif()
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${XIAOXIANG_WEB_DIR}
    COMMAND ${CMAKE_COMMAND} -E copy ${web_src}/package.json ${lock} ${XIAOXIANG_WEB_DIR}/
    # Never let a package download a browser (the tests use Debian's chromium).
    COMMAND ${CMAKE_COMMAND} -E env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
            ${install_command} --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${web_src}/package.json ${lock}
    WORKING_DIRECTORY ${XIAOXIANG_WEB_DIR}
    COMMENT "web: npm packages into ${XIAOXIANG_WEB_MODULES}"
    VERBATIM)

  file(GLOB web_sources CONFIGURE_DEPENDS ${web_src}/src/*)
  add_custom_command(
    OUTPUT ${XIAOXIANG_WEB_ROOT}/app.js ${XIAOXIANG_WEB_ROOT}/index.html
           ${XIAOXIANG_WEB_ROOT}/vendor/sockjs.min.js
    COMMAND ${XIAOXIANG_NODE} ${web_src}/build.mjs --out ${XIAOXIANG_WEB_ROOT}
            --modules ${XIAOXIANG_WEB_MODULES}
    DEPENDS ${stamp} ${web_src}/build.mjs ${web_sources}
    COMMENT "web: bundling the live page into ${XIAOXIANG_WEB_ROOT}"
    VERBATIM)
  add_custom_target(xiaoxiang_web ALL
    DEPENDS ${XIAOXIANG_WEB_ROOT}/app.js ${XIAOXIANG_WEB_ROOT}/vendor/sockjs.min.js)
endif()
