# Writes a C++ file holding every schema/*.sql file, in order, as
# (version, text) pairs. Called by CMakeLists.txt at build time.
set(body "")
string(REPLACE "|" ";" FILES "${FILES}")
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^[0-9]+" version "${name}")
  file(READ ${f} text)
  string(APPEND body "  {${version}, \"${name}\", R\"mailarksql(${text})mailarksql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from schema/*.sql; do not edit.\n#include \"src/state/schema_files.h\"\nnamespace mailark::state {\nconst std::vector<SchemaFile>& schemaFiles() {\n  static const std::vector<SchemaFile> files = {\n${body}  };\n  return files;\n}\n}  // namespace mailark::state\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
