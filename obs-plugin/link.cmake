# shop_link: the plugin's own logic (settings, actions, the local state,
# the worker that talks to the server), without libobs, so that
# tests/plugin runs it with no OBS. Included by CMakeLists.txt here.
if(NOT TARGET PkgConfig::CURL)
  pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
endif()
find_package(Threads REQUIRED)

add_library(shop_link STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/shop-settings.c
  ${CMAKE_CURRENT_LIST_DIR}/src/shop-model.c
  ${CMAKE_CURRENT_LIST_DIR}/src/shop-link.c
  ${CMAKE_CURRENT_LIST_DIR}/src/shop-worker.c
  ${CMAKE_CURRENT_LIST_DIR}/src/shop-vendor.c
)
target_include_directories(shop_link PUBLIC ${CMAKE_CURRENT_LIST_DIR}/src)
target_link_libraries(shop_link PUBLIC
  lshop PkgConfig::CURL PkgConfig::JANSSON Threads::Threads)
set_target_properties(shop_link PROPERTIES POSITION_INDEPENDENT_CODE ON)
