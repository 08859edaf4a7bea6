include(${CMAKE_CURRENT_LIST_DIR}/dsx_arrows.cmake)

# dsx_glob_library(<target> DIRS <dir>... LIBS <libs>...)
# A static library from every .cpp directly under the given folders (not recursive), so several
# people can add files to a module without editing this list. No sources: a header-only
# (INTERFACE) library.
# The dsx_ modules it links, its include root and its include fence come from
# cmake/module_arrows.txt (dsx_module_target); LIBS are the external libraries.
function(dsx_glob_library target)
  cmake_parse_arguments(ARG "" "" "DIRS;LIBS" ${ARGN})
  set(sources)
  foreach(dir ${ARG_DIRS})
    file(GLOB found CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp)
    list(APPEND sources ${found})
  endforeach()
  if(sources)
    add_library(${target} STATIC ${sources})
    dsx_module_target(${target})
    target_link_libraries(${target} PUBLIC ${ARG_LIBS})
  else()
    add_library(${target} INTERFACE)
    dsx_module_target(${target})
    target_link_libraries(${target} INTERFACE ${ARG_LIBS})
  endif()
endfunction()
