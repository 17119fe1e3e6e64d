{
  "targets": [
    {
      "target_name": "atresolve",
      "sources": ["native/src/engine.c", "native/src/address.c", "native/src/response.c", "native/src/curve_point.c", "native/src/binding.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Wshadow", "-O2", "-fvisibility=hidden"],
      "cflags_c": ["-std=c11"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I libcurl zlib | sed 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs libcurl zlib)"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
