{
  "targets": [
    {
      "target_name": "overlay_native",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native', { recursive: true }).filter(f => f.endsWith('.cc') && !f.startsWith('test/')).sort().map(f => 'native/' + f).join(' ')\")"],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lzstd"]
    }
  ]
}
