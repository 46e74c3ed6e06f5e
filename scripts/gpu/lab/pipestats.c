// LAB: compiles each SPIR-V of manifest.txt into a compute pipeline on the first Vulkan device
// and prints the driver's pipeline executable statistics (registers, shared memory, ...).
//   cc -O1 -o pipestats pipestats.c -I$VULKAN_SDK/include -lvulkan && ./pipestats DIR [filter]
#include <vulkan/vulkan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(x) do { VkResult r_ = (x); if (r_ != VK_SUCCESS) { fprintf(stderr, "%s: %d\n", #x, r_); return 1; } } while (0)

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); *n = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc(*n);
    size_t got = fread(b, 1, *n, f);
    fclose(f);
    return got == *n ? b : NULL;
}

int main(int argc, char **argv) {
    const char *dir = argv[1];
    const char *filter = argc > 2 ? argv[2] : "";
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, 0, "pipestats", 1, 0, 0, VK_API_VERSION_1_3};
    VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, 0, 0, &app};
    VkInstance inst; CK(vkCreateInstance(&ici, 0, &inst));
    uint32_t n = 8; VkPhysicalDevice pds[8]; CK(vkEnumeratePhysicalDevices(inst, &n, pds));
    VkPhysicalDevice pd = pds[0];
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pe = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR cm = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR, &pe};
    VkPhysicalDeviceVulkan13Features f13 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, &cm};
    VkPhysicalDeviceVulkan12Features f12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, &f13};
    VkPhysicalDeviceVulkan11Features f11 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
    VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    f2.features.robustBufferAccess = VK_FALSE;
    if (!cm.cooperativeMatrix) f13.pNext = pe.pipelineExecutableInfo ? (void *)&pe : 0;
    if (!pe.pipelineExecutableInfo) cm.pNext = 0;
    f13.robustImageAccess = VK_FALSE;
    printf("pipelineExecutableInfo %u cooperativeMatrix %u\n", pe.pipelineExecutableInfo, cm.cooperativeMatrix);
    const char *want[] = {"VK_KHR_pipeline_executable_properties", "VK_KHR_cooperative_matrix"};
    const char *exts[2]; uint32_t nx = 0, na = 512;
    VkExtensionProperties avail[512];
    vkEnumerateDeviceExtensionProperties(pd, 0, &na, avail);
    for (int w = 0; w < 2; w++)
        for (uint32_t a = 0; a < na; a++)
            if (!strcmp(avail[a].extensionName, want[w])) exts[nx++] = want[w];
    if (!pe.pipelineExecutableInfo) pe.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, 0, 0, 0, 1, &prio};
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &f2, 0, 1, &qci, 0, 0, nx, exts, 0};
    VkDevice dev; CK(vkCreateDevice(pd, &dci, 0, &dev));
    PFN_vkGetPipelineExecutablePropertiesKHR props = (PFN_vkGetPipelineExecutablePropertiesKHR)vkGetDeviceProcAddr(dev, "vkGetPipelineExecutablePropertiesKHR");
    PFN_vkGetPipelineExecutableStatisticsKHR stats = (PFN_vkGetPipelineExecutableStatisticsKHR)vkGetDeviceProcAddr(dev, "vkGetPipelineExecutableStatisticsKHR");
    char path[4096]; snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *mf = fopen(path, "r");
    char file[256], ep[128], binds[256], name[256];
    while (fscanf(mf, "%255s %127s %255s %255s", file, ep, binds, name) == 4) {
        if (!strstr(name, filter)) continue;
        size_t sz = 0; snprintf(path, sizeof path, "%s/%s", dir, file);
        char *code = slurp(path, &sz);
        if (!code) { printf("%s: unreadable\n", path); continue; }
        VkShaderModuleCreateInfo smci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, 0, 0, sz, (uint32_t *)code};
        VkShaderModule sm; CK(vkCreateShaderModule(dev, &smci, 0, &sm));
        VkDescriptorSetLayoutBinding lb[16]; uint32_t nb = 0;
        for (char *t = strtok(binds, ","); t; t = strtok(0, ",")) {
            int b = atoi(t); char k = t[strlen(t) - 1];
            lb[nb] = (VkDescriptorSetLayoutBinding){(uint32_t)b, k == 'u' ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, 0};
            nb++;
        }
        VkDescriptorSetLayoutCreateInfo dl = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, 0, 0, nb, lb};
        VkDescriptorSetLayout dsl; CK(vkCreateDescriptorSetLayout(dev, &dl, 0, &dsl));
        VkPipelineLayoutCreateInfo pl = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, 0, 0, 1, &dsl};
        VkPipelineLayout lay; CK(vkCreatePipelineLayout(dev, &pl, 0, &lay));
        VkComputePipelineCreateInfo cp = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, 0,
            pe.pipelineExecutableInfo ? VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR : 0,
            {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, 0, 0, VK_SHADER_STAGE_COMPUTE_BIT, sm, ep, 0}, lay};
        VkPipeline pipe;
        VkResult r = vkCreateComputePipelines(dev, 0, 1, &cp, 0, &pipe);
        if (r != VK_SUCCESS) { printf("%-44s %-10s FAILED %d\n", name, ep, r); continue; }
        VkPipelineInfoKHR pi = {VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, 0, pipe};
        uint32_t ne = 4; VkPipelineExecutablePropertiesKHR ex[4];
        for (int i = 0; i < 4; i++) ex[i] = (VkPipelineExecutablePropertiesKHR){VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR};
        if (!props) { printf("%-44s compiled (no statistics)\n", name); vkDestroyPipeline(dev, pipe, 0); continue; }
        props(dev, &pi, &ne, ex);
        printf("%-44s %-10s", name, ep);
        for (uint32_t e = 0; e < ne; e++) {
            VkPipelineExecutableInfoKHR ei = {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, 0, pipe, e};
            uint32_t ns = 32; VkPipelineExecutableStatisticKHR st[32];
            for (int i = 0; i < 32; i++) st[i] = (VkPipelineExecutableStatisticKHR){VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
            stats(dev, &ei, &ns, st);
            for (uint32_t s = 0; s < ns; s++) {
                printf(" | %s=", st[s].name);
                switch (st[s].format) {
                case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: printf("%u", st[s].value.b32); break;
                case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: printf("%lld", (long long)st[s].value.i64); break;
                case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: printf("%llu", (unsigned long long)st[s].value.u64); break;
                default: printf("%g", st[s].value.f64);
                }
            }
        }
        printf("\n");
        fflush(stdout);
        vkDestroyPipeline(dev, pipe, 0);
    }
    return 0;
}
