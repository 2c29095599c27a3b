// C side of package ortext: thin calls through the OrtApi table of the
// libonnxruntime that onnxruntime_go loaded. Every function returns the
// OrtStatus* of the call (NULL = success) unless said otherwise.
#ifndef RADRAFT_ORTEXT_SHIM_H
#define RADRAFT_ORTEXT_SHIM_H
#include "onnxruntime_c_api.h"

// ortx_init finds the already-loaded library at path (RTLD_NOLOAD), takes
// its OrtApi for ORT_API_VERSION and the process's OrtEnv (CreateEnv hands
// back the existing singleton). Returns NULL or a static error text.
const char *ortx_init(const char *path);
const char *ortx_status_message(OrtStatus *s);
void ortx_release_status(OrtStatus *s);

OrtStatus *ortx_get_ep_devices(const OrtEpDevice *const **out, size_t *n);
const char *ortx_ep_name(const OrtEpDevice *d);
const char *ortx_ep_vendor(const OrtEpDevice *d);
int ortx_hw_type(const OrtEpDevice *d);
uint32_t ortx_hw_vendor_id(const OrtEpDevice *d);
uint32_t ortx_hw_device_id(const OrtEpDevice *d);
const char *ortx_hw_vendor(const OrtEpDevice *d);
const OrtMemoryInfo *ortx_ep_memory(const OrtEpDevice *d);

OrtStatus *ortx_create_session_options(OrtSessionOptions **out);
void ortx_release_session_options(OrtSessionOptions *o);
OrtStatus *ortx_set_opt_all(OrtSessionOptions *o);
OrtStatus *ortx_set_intra_threads(OrtSessionOptions *o, int n);
OrtStatus *ortx_append_ep_v2(OrtSessionOptions *o, const OrtEpDevice *d, const char *const *keys, const char *const *vals, size_t n);
OrtStatus *ortx_create_session(const char *path, OrtSessionOptions *o, OrtSession **out);
void ortx_release_session(OrtSession *s);

OrtStatus *ortx_create_cpu_memory(OrtMemoryInfo **out);
void ortx_release_memory(OrtMemoryInfo *m);
OrtStatus *ortx_shared_allocator(const OrtMemoryInfo *m, OrtAllocator **out);
OrtStatus *ortx_default_allocator(OrtAllocator **out);
OrtStatus *ortx_alloc(OrtAllocator *a, size_t n, void **out);
OrtStatus *ortx_free(OrtAllocator *a, void *p);

OrtStatus *ortx_create_tensor(const OrtMemoryInfo *m, void *p, size_t nbytes, const int64_t *shape, size_t rank, int type, OrtValue **out);
void ortx_release_value(OrtValue *v);
OrtStatus *ortx_copy_tensor(OrtValue *src, OrtValue *dst);

OrtStatus *ortx_create_binding(OrtSession *s, OrtIoBinding **out);
void ortx_release_binding(OrtIoBinding *b);
OrtStatus *ortx_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v);
OrtStatus *ortx_bind_output(OrtIoBinding *b, const char *name, const OrtValue *v);
OrtStatus *ortx_bind_output_to_device(OrtIoBinding *b, const char *name, const OrtMemoryInfo *m);
void ortx_clear_binding(OrtIoBinding *b);
OrtStatus *ortx_run_binding(OrtSession *s, OrtRunOptions *ro, OrtIoBinding *b);
OrtStatus *ortx_sync_outputs(OrtIoBinding *b);

OrtStatus *ortx_create_run_options(OrtRunOptions **out);
OrtStatus *ortx_terminate(OrtRunOptions *ro);
void ortx_release_run_options(OrtRunOptions *ro);
// ortx_loadable dlopens name (as the dynamic loader would find it) and
// closes it again: NULL if it loads, else dlerror()'s text.
const char *ortx_loadable(const char *name);
#endif
