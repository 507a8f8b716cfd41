// ipsync on Azure Functions Flex Consumption: one resource group with storage, monitoring and
// the Function App, plus a least-privilege custom role for the app's identity with only the
// actions of the enabled target kinds, assigned at the subscription or at named resource
// groups. Deploy with `azd up`, or:
//   az deployment sub create --name <env> --location <region> --parameters infra/main.bicepparam
// For a role at management-group scope, deploy infra/mg-role.bicep afterwards.
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

@description('Refuse a release that adds more than this share of the addresses a target holds (per family; at least 65,536 IPv4 addresses may always be added).')
param maxAddRatio string = '1.0'

@description('Region used for the Service Tag Discovery API (source "api").')
param apiLocation string = location

@description('Allow POST /api/sync/force (host master key only) to override the removal guard.')
param allowForce bool = false

@description('More app settings by name, e.g. {"IPSYNC_TAG_OVERRIDES": "ports", "IPSYNC_HISTORY_KEEP": "500"}: any IPSYNC_* setting without a parameter of its own. Set here they survive a redeployment, which replaces the app settings with the template\'s; the template\'s own settings win over a name given twice.')
param extraSettings object = {}

@description('Published lists (IPSYNC_LISTS), as JSON text: an object, list name -> {service_tags, families, ...}. Set them here: a redeployment puts back the template\'s settings, so a list set by hand would be wiped. Empty object: none.')
param lists string = '{}'

// Feeds beyond Azure's service tags (docs/feeds/).

@description('GitHub Enterprise Server the github feed reads (IPSYNC_GITHUB_URL, https://HOST). Empty: github.com.')
param githubUrl string = ''

@description('Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>) holding a token for the github feed. The app reads it as a Key Vault reference (IPSYNC_GITHUB_TOKEN); its identity needs Key Vault Secrets User on that secret. Empty: no token.')
@secure()
param githubTokenSecretUri string = ''

@description('Microsoft 365 instance the m365 feed reads (IPSYNC_M365_INSTANCE).')
@allowed(['Worldwide', 'USGovDoD', 'USGovGCCHigh', 'China'])
param m365Instance string = 'Worldwide'

@description('The url feeds (IPSYNC_URL_FEEDS), as JSON text: a list of {name, url, format, select}. Empty list: none.')
param urlFeeds string = '[]'

// What the app may touch.

@description('Target kinds the app syncs; the custom role gets exactly the actions they need (see kindActions).')
@allowed(['nsg', 'storage', 'keyvault', 'acr', 'sql', 'ipgroup', 'discovery', 'appservice', 'postgresql', 'mysql', 'aks', 'frontdoor', 'containerapp', 'cognitive', 'eventhub', 'servicebus', 'cosmosdb'])
param kinds array = ['nsg', 'discovery']

@description('Where the custom role is assigned. subscription: every resource of it. resourceGroups: only the groups roleResourceGroupIds lists (the actions that name no resource, below, stay at the subscription). managementGroup: this template skips it; deploy infra/mg-role.bicep with the roleActions and principalId outputs.')
@allowed(['subscription', 'resourceGroups', 'managementGroup'])
param roleScope string = 'subscription'

@description('With roleScope resourceGroups: ids of the resource groups (/subscriptions/<this subscription>/resourceGroups/<name>) whose resources the app may sync; the custom role is assignable and assigned there only.')
param roleResourceGroupIds array = []

@description('Management group whose subscriptions discovery searches (with roleScope managementGroup). Empty: this subscription only.')
param managementGroupId string = ''

// Notifications and alerts (both off when empty).

@description('Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>) holding the notification webhook URL. The app reads it as a Key Vault reference; its identity needs Key Vault Secrets User on that secret. Empty: no notifications.')
@secure()
param notifyUrlSecretUri string = ''

@description('Form of the notifications: json (the generic body), slack (Block Kit, for a Slack incoming webhook) or teams (an Adaptive Card, for a Teams Workflows webhook).')
@allowed(['json', 'slack', 'teams'])
param notifyFormat string = 'json'

@description('Fan each run out in work items of at most this many resources (none spanning two subscriptions), each a queued invocation the Functions host scales out; 0 runs in one invocation.')
param partitionSize string = '0'

@description('Work items of one subscription that may run at once (each holds one of its leases): 1 to 16.')
param subscriptionParallelism string = '1'

@description('Action group resource id to alert when a run fails or is refused. Empty: no alert rule.')
param alertActionGroupId string = ''

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
// Microsoft Graph (Entra ID named locations) follows the cloud too.
var graphEndpoints = {
  AzureCloud: 'https://graph.microsoft.com'
  AzureUSGovernment: 'https://graph.microsoft.us'
  AzureChinaCloud: 'https://microsoftgraph.chinacloudapi.cn'
}

// Storage queue for manual runs, and its poison queue (the Functions host's <queue>-poison).
var runQueueName = 'ipsync-runs'

// Azure RBAC actions each target kind needs: the only place the role's actions are listed.
// docs/operators-guide.md says why each one is needed.
var kindActions = {
  nsg: [
    'Microsoft.Network/networkSecurityGroups/read'
    'Microsoft.Network/networkSecurityGroups/securityRules/read'
    'Microsoft.Network/networkSecurityGroups/securityRules/write'
    'Microsoft.Network/networkSecurityGroups/securityRules/delete'
    'Microsoft.Network/locations/serviceTags/read'
  ]
  storage: [
    'Microsoft.Storage/storageAccounts/read'
    'Microsoft.Storage/storageAccounts/write'
  ]
  keyvault: [
    'Microsoft.KeyVault/vaults/read'
    'Microsoft.KeyVault/vaults/write'
  ]
  acr: [
    'Microsoft.ContainerRegistry/registries/read'
    'Microsoft.ContainerRegistry/registries/write'
    'Microsoft.ContainerRegistry/registries/operationStatuses/read'
  ]
  sql: [
    'Microsoft.Sql/servers/read'
    'Microsoft.Sql/servers/firewallRules/read'
    'Microsoft.Sql/servers/firewallRules/write'
    'Microsoft.Sql/servers/firewallRules/delete'
  ]
  ipgroup: [
    'Microsoft.Network/ipGroups/read'
    'Microsoft.Network/ipGroups/write'
  ]
  appservice: [
    'Microsoft.Web/sites/read'
    'Microsoft.Web/sites/config/read'
    'Microsoft.Web/sites/config/write'
    'Microsoft.Web/sites/slots/config/read'
    'Microsoft.Web/sites/slots/config/write'
  ]
  aks: [
    'Microsoft.ContainerService/managedClusters/read'
    'Microsoft.ContainerService/managedClusters/write'
    'Microsoft.ContainerService/locations/operations/read'
  ]
  discovery: [
    'Microsoft.ResourceGraph/resources/read'
  ]
  postgresql: [
    'Microsoft.DBforPostgreSQL/flexibleServers/read'
    'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/read'
    'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/write'
    'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/delete'
    'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read'
    'Microsoft.DBforPostgreSQL/locations/operationResults/read'
  ]
  mysql: [
    'Microsoft.DBforMySQL/flexibleServers/read'
    'Microsoft.DBforMySQL/flexibleServers/firewallRules/read'
    'Microsoft.DBforMySQL/flexibleServers/firewallRules/write'
    'Microsoft.DBforMySQL/flexibleServers/firewallRules/delete'
    'Microsoft.DBforMySQL/locations/azureAsyncOperation/read'
    'Microsoft.DBforMySQL/locations/operationResults/read'
  ]
  frontdoor: [
    'Microsoft.Network/frontDoorWebApplicationFirewallPolicies/read'
    'Microsoft.Network/frontDoorWebApplicationFirewallPolicies/write'
    'Microsoft.Network/frontdooroperationresults/read'
  ]
  containerapp: [
    'Microsoft.App/containerApps/read'
    'Microsoft.App/containerApps/write'
    'Microsoft.App/locations/containerAppOperationStatuses/read'
    'Microsoft.App/locations/containerAppOperationResults/read'
  ]
  cognitive: [
    'Microsoft.CognitiveServices/accounts/read'
    'Microsoft.CognitiveServices/accounts/write'
  ]
  eventhub: [
    'Microsoft.EventHub/namespaces/read'
    'Microsoft.EventHub/namespaces/networkrulesets/read'
    'Microsoft.EventHub/namespaces/networkrulesets/write'
  ]
  servicebus: [
    'Microsoft.ServiceBus/namespaces/read'
    'Microsoft.ServiceBus/namespaces/networkrulesets/read'
    'Microsoft.ServiceBus/namespaces/networkrulesets/write'
  ]
  cosmosdb: [
    'Microsoft.DocumentDB/databaseAccounts/read'
    'Microsoft.DocumentDB/databaseAccounts/write'
  ]
}
// Status of Microsoft.Network long-running writes: shared by the kinds that write there
// (each kind declares it in its folder: KIND.needs.shared).
var networkOperationStatus = [
  'Microsoft.Network/locations/operations/read'
  'Microsoft.Network/locations/operationResults/read'
]
var networkWriters = ['nsg', 'ipgroup', 'frontdoor']
var kindActionLists = [for kind in kinds: kindActions[kind]]
var usesNetworkWrites = !empty(intersection(kinds, networkWriters))
var roleActions = union(flatten(kindActionLists), usesNetworkWrites ? networkOperationStatus : [])

// Actions on no one's resource: the status of the app's own long-running writes (by operation
// id), the public service tags, and the Resource Graph query (which answers only with the
// resources the app may read). With roleScope resourceGroups they are granted at the
// subscription, by a role of their own; every other action at the listed groups only.
var subscriptionWideActions = union(networkOperationStatus, [
  'Microsoft.Network/locations/serviceTags/read'
  'Microsoft.ResourceGraph/resources/read'
  'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read'
  'Microsoft.DBforPostgreSQL/locations/operationResults/read'
  'Microsoft.DBforMySQL/locations/azureAsyncOperation/read'
  'Microsoft.DBforMySQL/locations/operationResults/read'
  'Microsoft.ContainerService/locations/operations/read'
  'Microsoft.App/locations/containerAppOperationStatuses/read'
  'Microsoft.App/locations/containerAppOperationResults/read'
])
var atGroups = roleScope == 'resourceGroups'
var groupActions = filter(roleActions, action => !contains(subscriptionWideActions, action))
var statusActions = filter(roleActions, action => contains(subscriptionWideActions, action))

var notifyUrlReference = empty(notifyUrlSecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${notifyUrlSecretUri})'
var githubTokenReference = empty(githubTokenSecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${githubTokenSecretUri})'

var ipsyncSettings = {
  IPSYNC_SUBSCRIPTION_ID: subscription().subscriptionId
  IPSYNC_SCHEDULE: schedule
  IPSYNC_SOURCE: source
  IPSYNC_CLOUD: feedClouds[environment().name]
  IPSYNC_TARGETS: targets
  IPSYNC_DISCOVER_TAG: discoverTag
  IPSYNC_DRY_RUN: dryRun ? 'true' : 'false'
  IPSYNC_MAX_REMOVE_RATIO: maxRemoveRatio
  IPSYNC_MAX_ADD_RATIO: maxAddRatio
  IPSYNC_API_LOCATION: apiLocation
  IPSYNC_ALLOW_FORCE: allowForce ? 'true' : 'false'
  IPSYNC_CONTAINER: historyContainerName
  IPSYNC_MANAGEMENT_GROUP: managementGroupId
  IPSYNC_NOTIFY_URL: notifyUrlReference
  IPSYNC_NOTIFY_FORMAT: notifyFormat
  IPSYNC_PARTITION_SIZE: partitionSize
  IPSYNC_SUBSCRIPTION_PARALLELISM: subscriptionParallelism
  IPSYNC_LISTS: lists
  IPSYNC_GITHUB_URL: githubUrl
  IPSYNC_GITHUB_TOKEN: githubTokenReference
  IPSYNC_M365_INSTANCE: m365Instance
  IPSYNC_URL_FEEDS: urlFeeds
  IPSYNC_GRAPH_ENDPOINT: graphEndpoints[environment().name]
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
    queues: [runQueueName, '${runQueueName}-poison']
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
    alertActionGroupId: alertActionGroupId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'ipsync-functionapp'
  scope: rg
  params: {
    planName: 'plan-${namePrefix}-${token}'
    appName: 'func-${namePrefix}-${token}'
    location: location
    // azd deploy finds the app to publish to by this tag (azure.yaml service "ipsync").
    tags: union(tags, { 'azd-service-name': 'ipsync' })
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: ipsyncSettings
    extraSettings: extraSettings
  }
}

module role 'modules/role.bicep' = if (roleScope != 'managementGroup') {
  name: 'ipsync-role'
  params: {
    principalId: functionApp.outputs.principalId
    actions: atGroups ? groupActions : roleActions
    assignableScopes: atGroups ? roleResourceGroupIds : [subscription().id]
    assignHere: !atGroups
  }
}

// roleScope resourceGroups: the custom role at each listed group, nowhere else.
module roleAtGroups 'modules/role-assignment.bicep' = [for (groupId, index) in (atGroups ? roleResourceGroupIds : []): {
  name: 'ipsync-role-group-${index}'
  scope: resourceGroup(split(groupId, '/')[2], split(groupId, '/')[4])
  params: {
    principalId: functionApp.outputs.principalId
    roleDefinitionId: role.outputs.roleDefinitionId
  }
}]

// ... and the actions that name no resource at the subscription, by a role of their own.
module statusRole 'modules/role.bicep' = if (atGroups && !empty(statusActions)) {
  name: 'ipsync-status-role'
  params: {
    principalId: functionApp.outputs.principalId
    actions: statusActions
    purpose: 'operation status'
    roleDescription: 'Read the status of ipsync\'s own long-running writes, the public service tags and Resource Graph answers (only resources ipsync may read). Used by ipsync.'
  }
}

output resourceGroupName string = rg.name
output functionAppName string = functionApp.outputs.name
output defaultHostName string = functionApp.outputs.defaultHostName
output principalId string = functionApp.outputs.principalId
output roleActions array = roleActions
output roleDefinitionId string = roleScope != 'managementGroup' ? role.outputs.roleDefinitionId : ''
output roleAssignmentId string = roleScope == 'subscription' ? role.outputs.roleAssignmentId : ''
output roleAssignmentIds array = [for (groupId, index) in (atGroups ? roleResourceGroupIds : []): roleAtGroups[index].outputs.roleAssignmentId]
output statusRoleDefinitionId string = atGroups && !empty(statusActions) ? statusRole.outputs.roleDefinitionId : ''
output statusRoleAssignmentId string = atGroups && !empty(statusActions) ? statusRole.outputs.roleAssignmentId : ''
// azd keeps outputs in its environment and finds the resource group by this one.
output AZURE_RESOURCE_GROUP string = rg.name
