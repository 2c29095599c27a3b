#include <dlfcn.h>
#include "shim.h"

static const OrtApi *api = NULL;
static OrtEnv *env = NULL;

typedef const OrtApiBase *(*get_api_base_fn)(void);

const char *ortx_init(const char *path) {
  if (api != NULL) return NULL;
  void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (h == NULL) return "the onnxruntime library is not loaded in this process";
  get_api_base_fn f = (get_api_base_fn)dlsym(h, "OrtGetApiBase");
  dlclose(h); // drops only our extra reference; onnxruntime_go holds its own
  if (f == NULL) return "the onnxruntime library has no OrtGetApiBase";
  const OrtApi *a = f()->GetApi(ORT_API_VERSION);
  if (a == NULL) return "the onnxruntime library does not offer the C API version of onnxruntime_c_api.h";
  OrtStatus *s = a->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "radraft", &env);
  if (s != NULL) {
    a->ReleaseStatus(s);
    return "CreateEnv failed";
  }
  api = a;
  return NULL;
}

const char *ortx_status_message(OrtStatus *s) { return api->GetErrorMessage(s); }
void ortx_release_status(OrtStatus *s) { api->ReleaseStatus(s); }

OrtStatus *ortx_get_ep_devices(const OrtEpDevice *const **out, size_t *n) { return api->GetEpDevices(env, out, n); }
const char *ortx_ep_name(const OrtEpDevice *d) { return api->EpDevice_EpName(d); }
const char *ortx_ep_vendor(const OrtEpDevice *d) { return api->EpDevice_EpVendor(d); }
int ortx_hw_type(const OrtEpDevice *d) { return (int)api->HardwareDevice_Type(api->EpDevice_Device(d)); }
uint32_t ortx_hw_vendor_id(const OrtEpDevice *d) { return api->HardwareDevice_VendorId(api->EpDevice_Device(d)); }
uint32_t ortx_hw_device_id(const OrtEpDevice *d) { return api->HardwareDevice_DeviceId(api->EpDevice_Device(d)); }
const char *ortx_hw_vendor(const OrtEpDevice *d) { return api->HardwareDevice_Vendor(api->EpDevice_Device(d)); }
const OrtMemoryInfo *ortx_ep_memory(const OrtEpDevice *d) { return api->EpDevice_MemoryInfo(d, OrtDeviceMemoryType_DEFAULT); }

OrtStatus *ortx_create_session_options(OrtSessionOptions **out) { return api->CreateSessionOptions(out); }
void ortx_release_session_options(OrtSessionOptions *o) { api->ReleaseSessionOptions(o); }
OrtStatus *ortx_set_opt_all(OrtSessionOptions *o) { return api->SetSessionGraphOptimizationLevel(o, ORT_ENABLE_ALL); }
OrtStatus *ortx_set_intra_threads(OrtSessionOptions *o, int n) { return api->SetIntraOpNumThreads(o, n); }
OrtStatus *ortx_append_ep_v2(OrtSessionOptions *o, const OrtEpDevice *d, const char *const *keys, const char *const *vals, size_t n) {
  const OrtEpDevice *devs[1] = {d};
  return api->SessionOptionsAppendExecutionProvider_V2(o, env, devs, 1, keys, vals, n);
}
OrtStatus *ortx_create_session(const char *path, OrtSessionOptions *o, OrtSession **out) { return api->CreateSession(env, path, o, out); }
void ortx_release_session(OrtSession *s) { api->ReleaseSession(s); }

OrtStatus *ortx_create_cpu_memory(OrtMemoryInfo **out) { return api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, out); }
void ortx_release_memory(OrtMemoryInfo *m) { api->ReleaseMemoryInfo(m); }
OrtStatus *ortx_shared_allocator(const OrtMemoryInfo *m, OrtAllocator **out) { return api->GetSharedAllocator(env, m, out); }
OrtStatus *ortx_default_allocator(OrtAllocator **out) { return api->GetAllocatorWithDefaultOptions(out); }
OrtStatus *ortx_alloc(OrtAllocator *a, size_t n, void **out) { return api->AllocatorAlloc(a, n, out); }
OrtStatus *ortx_free(OrtAllocator *a, void *p) { return api->AllocatorFree(a, p); }

OrtStatus *ortx_create_tensor(const OrtMemoryInfo *m, void *p, size_t nbytes, const int64_t *shape, size_t rank, int type, OrtValue **out) {
  return api->CreateTensorWithDataAsOrtValue(m, p, nbytes, shape, rank, (ONNXTensorElementDataType)type, out);
}
void ortx_release_value(OrtValue *v) { api->ReleaseValue(v); }
OrtStatus *ortx_copy_tensor(OrtValue *src, OrtValue *dst) {
  const OrtValue *s[1] = {src};
  OrtValue *d[1] = {dst};
  return api->CopyTensors(env, s, d, NULL, 1);
}

OrtStatus *ortx_create_binding(OrtSession *s, OrtIoBinding **out) { return api->CreateIoBinding(s, out); }
void ortx_release_binding(OrtIoBinding *b) { api->ReleaseIoBinding(b); }
OrtStatus *ortx_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v) { return api->BindInput(b, name, v); }
OrtStatus *ortx_bind_output(OrtIoBinding *b, const char *name, const OrtValue *v) { return api->BindOutput(b, name, v); }
OrtStatus *ortx_bind_output_to_device(OrtIoBinding *b, const char *name, const OrtMemoryInfo *m) { return api->BindOutputToDevice(b, name, m); }
void ortx_clear_binding(OrtIoBinding *b) {
  api->ClearBoundInputs(b);
  api->ClearBoundOutputs(b);
}
OrtStatus *ortx_run_binding(OrtSession *s, OrtRunOptions *ro, OrtIoBinding *b) { return api->RunWithBinding(s, ro, b); }
OrtStatus *ortx_sync_outputs(OrtIoBinding *b) { return api->SynchronizeBoundOutputs(b); }

OrtStatus *ortx_create_run_options(OrtRunOptions **out) { return api->CreateRunOptions(out); }
OrtStatus *ortx_terminate(OrtRunOptions *ro) { return api->RunOptionsSetTerminate(ro); }
void ortx_release_run_options(OrtRunOptions *ro) { api->ReleaseRunOptions(ro); }

const char *ortx_loadable(const char *name) {
  void *h = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
  if (h == NULL) return dlerror();
  dlclose(h);
  return NULL;
}
