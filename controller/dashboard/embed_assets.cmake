# Writes OUTPUT, a C++ file defining the dashboard_assets.h functions with
# the page's files (assets/) as raw string literals, so the controller
# serves them from memory and the files stay plain HTML, CSS and JS to edit.
# Run by a custom command: cmake -DASSETS=dir -DOUTPUT=file -P this.
set(pairs "index.html:IndexHtml" "dashboard.js:DashboardJs" "dashboard.css:DashboardCss")
set(code "// Generated from controller/dashboard/assets/ by embed_assets.cmake.\n")
string(APPEND code "#include \"controller/dashboard/dashboard_assets.h\"\n\n")
string(APPEND code "namespace pyservice::controller::dashboard {\n")
foreach(pair IN LISTS pairs)
  string(REPLACE ":" ";" parts "${pair}")
  list(GET parts 0 file)
  list(GET parts 1 function)
  file(READ "${ASSETS}/${file}" content)
  string(FIND "${content}" ")asset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${ASSETS}/${file} contains )asset\" which ends the raw string")
  endif()
  string(APPEND code "\nabsl::string_view ${function}() {\n"
         "  return R\"asset(${content})asset\";\n}\n")
endforeach()
string(APPEND code "\n}  // namespace pyservice::controller::dashboard\n")
file(WRITE "${OUTPUT}.tmp" "${code}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
