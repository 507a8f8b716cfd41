// ipsync on Azure Functions Flex Consumption: one resource group with storage, monitoring and
// the Function App, plus a least-privilege custom role for the app's identity on this
// subscription. Deploy with:
//   az deployment sub create --location <region> --template-file infra/main.bicep \
//     --parameters @infra/main.parameters.json
// See docs/operators-guide.md.
targetScope = 'subscription'

@description('Region for every resource (must offer Flex Consumption).')
param location string

@description('Resource group to create or reuse.')
param resourceGroupName string = 'rg-ipsync'

@description('Short lower-case prefix for resource names (letters and digits).')
@minLength(2)
@maxLength(10)
param namePrefix string = 'ipsync'

param tags object = {
  app: 'ipsync'
}

// ipsync settings (README "Settings"); each becomes an IPSYNC_* app setting.

@description('NCRONTAB (6 fields, UTC) for the timer. The feed changes weekly; daily is ample.')
param schedule string = '0 30 4 * * *'

@description('Feed source: download, api, or an https:// URL.')
param source string = 'download'

@description('Explicit targets, as JSON text (a list of target objects). Empty: tag discovery only.')
param targets string = '[]'

@description('Azure tag key that opts an NSG in; its value lists the service tags.')
param discoverTag string = 'ipsync'

@description('Plan only, never write (also for scheduled runs).')
param dryRun bool = false

@description('Refuse a run that removes more than this share of a target\'s owned prefixes.')
param maxRemoveRatio string = '0.3'

@description('Region used for the Service Tag Discovery API (source "api").')
param apiLocation string = location

@description('Allow POST /api/sync/force (host master key only) to override the removal guard.')
param allowForce bool = false

// Hosting.

@allowed(['3.11', '3.12'])
param pythonVersion string = '3.12'

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 2

@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var token = toLower(uniqueString(subscription().id, resourceGroupName, namePrefix))
var deploymentContainerName = 'app-package'
// Holds the run lock blob and the run history (runs/<run id>.json, latest.json).
var historyContainerName = 'ipsync'
// The feed and the ARM endpoint follow the cloud the app is deployed in.
var feedClouds = {
  AzureCloud: 'Public'
  AzureUSGovernment: 'AzureGovernment'
  AzureChinaCloud: 'China'
}

var ipsyncSettings = {
  IPSYNC_SUBSCRIPTION_ID: subscription().subscriptionId
  IPSYNC_SCHEDULE: schedule
  IPSYNC_SOURCE: source
  IPSYNC_CLOUD: feedClouds[environment().name]
  IPSYNC_TARGETS: targets
  IPSYNC_DISCOVER_TAG: discoverTag
  IPSYNC_DRY_RUN: dryRun ? 'true' : 'false'
  IPSYNC_MAX_REMOVE_RATIO: maxRemoveRatio
  IPSYNC_API_LOCATION: apiLocation
  IPSYNC_ALLOW_FORCE: allowForce ? 'true' : 'false'
  IPSYNC_CONTAINER: historyContainerName
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'ipsync-storage'
  scope: rg
  params: {
    name: take('st${toLower(namePrefix)}${token}', 24)
    location: location
    tags: tags
    containers: [deploymentContainerName, historyContainerName]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'ipsync-monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${namePrefix}-${token}'
    appInsightsName: 'appi-${namePrefix}-${token}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'ipsync-functionapp'
  scope: rg
  params: {
    planName: 'plan-${namePrefix}-${token}'
    appName: 'func-${namePrefix}-${token}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: ipsyncSettings
  }
}

module nsgRole 'modules/nsg-role.bicep' = {
  name: 'ipsync-nsg-role'
  params: {
    principalId: functionApp.outputs.principalId
  }
}

output resourceGroupName string = rg.name
output functionAppName string = functionApp.outputs.name
output defaultHostName string = functionApp.outputs.defaultHostName
output principalId string = functionApp.outputs.principalId
output roleDefinitionId string = nsgRole.outputs.roleDefinitionId
output roleAssignmentId string = nsgRole.outputs.roleAssignmentId
