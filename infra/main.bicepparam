// Parameters for infra/main.bicep. `azd up` reads this file and sets AZURE_ENV_NAME and
// AZURE_LOCATION; with the Azure CLI, export them (or edit the defaults) and name the
// deployment after the environment, so both ways give the same names:
//   export AZURE_ENV_NAME=ipsync AZURE_LOCATION=westeurope
//   az deployment sub create --name "$AZURE_ENV_NAME" --location "$AZURE_LOCATION" \
//     --parameters infra/main.bicepparam
// Every parameter of main.bicep not set here keeps its default (see docs/operators-guide.md).
using './main.bicep'

param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param resourceGroupName = 'rg-${readEnvironmentVariable('AZURE_ENV_NAME', 'ipsync')}'
param tags = {
  app: 'ipsync'
  'azd-env-name': readEnvironmentVariable('AZURE_ENV_NAME', 'ipsync')
}

// Start safe: every run, scheduled or not, only plans until you set this to false.
param dryRun = true
param schedule = '0 30 4 * * *'
param source = 'download'
param targets = '[]'
param discoverTag = 'ipsync'
param maxRemoveRatio = '0.3'
param allowForce = false

// Published lists, as JSON text: set them here, a list set by hand is wiped by the next
// deployment. E.g. '{"azure-storage-weu": {"service_tags": ["Storage.WestEurope"]}}'.
param lists = '{}'

// Only the actions the enabled kinds need: add 'storage', 'keyvault', 'acr', 'sql',
// 'ipgroup' or 'discovery' as you use them.
param kinds = ['nsg', 'discovery']
// 'subscription', 'resourceGroups' (with roleResourceGroupIds: the app may write only there)
// or 'managementGroup' (then deploy infra/mg-role.bicep).
param roleScope = 'subscription'
param roleResourceGroupIds = []

param instanceMemoryMB = 2048
param maximumInstanceCount = 2
// Fan-out (docs/operators-guide.md#a-large-fleet): 0 runs each run in one invocation.
param partitionSize = '0'
param subscriptionParallelism = '1'

// Off when empty: a Key Vault secret URI holding the webhook URL, an action group id.
param notifyUrlSecretUri = ''
param notifyFormat = 'json'
param alertActionGroupId = ''

// Feeds beyond Azure's (docs/feeds/): a GitHub Enterprise Server, a Key Vault secret URI
// holding a GitHub token, the Microsoft 365 instance, the url feeds as JSON text.
param githubUrl = ''
param githubTokenSecretUri = ''
param m365Instance = 'Worldwide'
param urlFeeds = '[]'

// Any other IPSYNC_* setting by name, e.g. { IPSYNC_TAG_OVERRIDES: 'ports' }.
param extraSettings = {}
