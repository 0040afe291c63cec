# cmake/hubrelay.cmake — the one shape every hubrelay library target takes.
#
# Owns: hubrelay_library(), so a folder's CMakeLists.txt says only what differs between
# targets (name, sources, links, whether it is an I/O target). Purity is checked
# separately (cmake/purity.cmake), from the links declared here.

# hubrelay_library(<name> [IO] SOURCES <file>... [LINK <target>...])
# Adds the static library <name> from SOURCES (relative to the calling folder) and links
# LINK publicly. IO marks an I/O target built on hubrelay_runtime: it reuses the
# runtime's precompiled Asio header instead of parsing Asio again in every file.
function(hubrelay_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "IO" "" "SOURCES;LINK")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_SOURCES)
    message(FATAL_ERROR "hubrelay_library(${name}): expected [IO] SOURCES ... [LINK ...], "
                        "got: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  list(TRANSFORM arg_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  add_library(${name} STATIC ${arg_SOURCES})
  if(arg_LINK)
    target_link_libraries(${name} PUBLIC ${arg_LINK})
  endif()
  if(arg_IO)
    target_precompile_headers(${name} REUSE_FROM hubrelay_runtime)
  endif()
endfunction()
