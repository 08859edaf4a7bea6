// The repository root, from this file's path (CMake passes absolute paths to the compiler).
#pragma once
#include <filesystem>
#include <string>
#define DSX_SOURCE_DIR (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "..").lexically_normal().string()
